using System.Globalization;
using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

/// <summary>
/// How a run crosses the bus. The run id is the message id and the priority the broker's message
/// priority; the rest travels in one header, <c>TaskBus-Run</c>:
/// <c>{queued unix ms};{priority};{retryAttempt};{rateLimitAttempt};{fromRunId};{rootRunId};{tick};{task}</c>
/// (<c>tick</c> is <c>t</c> for a run queued by the scheduler, else empty).
/// A message without it is a plain MassTransit publish of the task's message type.
/// </summary>
internal static class TaskHeaders
{
    public const string Run = "TaskBus-Run";

    /// <summary>The highest broker priority: high = 2, medium = 1, low = 0 (as a message with none).</summary>
    public const byte MaxPriority = 2;

    public static byte ToBrokerPriority(TaskPriority priority) => priority switch
    {
        TaskPriority.High => 2,
        TaskPriority.Medium => 1,
        _ => 0,
    };

    /// <summary>Sets the message id and broker priority of a run's message.</summary>
    public static void Prepare(SendContext context, TaskRun run)
    {
        context.MessageId = run.Guid;
        context.TrySetPriority(ToBrokerPriority(run.Priority));
    }

    /// <summary>Writes the run header; the run must be queued.</summary>
    public static void Write(SendContext context, TaskRun run) => context.Headers.Set(Run, Format(run));

    /// <summary>The run header's value; the run must be queued.</summary>
    public static string Format(TaskRun run) => string.Create(CultureInfo.InvariantCulture,
        $"{run.Queued!.Value.ToUnixTimeMilliseconds()};{run.Priority.ToWire()};{run.RetryAttempt};{run.RateLimitAttempt};{run.FromRunId};{run.RootRunId};{(run.IsTick ? "t" : "")};{run.Task}");

    /// <summary>Reads the run header of a message, if it has one.</summary>
    public static bool TryRead(Headers headers, out RunHeader header)
    {
        header = default;
        if (headers.Get<string>(Run) is not { } text)
            return false;
        var parts = text.Split(';', 8);
        if (parts.Length != 8
            || !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var queued)
            || !TaskStateExtensions.TryParsePriority(parts[1], out var priority)
            || !int.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var retry)
            || !int.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var rateLimit))
        {
            return false;
        }
        header = new RunHeader(DateTimeOffset.FromUnixTimeMilliseconds(queued), priority, retry, rateLimit, parts[4], parts[5], parts[6] == "t", parts[7]);
        return true;
    }

    public readonly record struct RunHeader(
        DateTimeOffset Queued, TaskPriority Priority, int RetryAttempt, int RateLimitAttempt, string FromRunId, string RootRunId, bool IsTick, string Task);
}
