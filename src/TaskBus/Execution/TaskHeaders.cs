using System.Globalization;
using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

/// <summary>
/// How a run crosses the bus. The run id is the message id and the priority the broker's message
/// priority; the rest travels in one header, <c>TaskBus-Run</c>:
/// <c>{queued unix µs};{priority};{retryAttempt};{rateLimitAttempt};{fromRunId};{rootRunId};{scheduledFor unix ms};{task}</c>
/// (<c>scheduledFor</c> is empty for a run the scheduler did not queue; an earlier version wrote <c>queued</c>
/// in milliseconds and a <c>t</c> for a tick of unknown time: both are still read). A message without it is a plain MassTransit publish of the task's
/// message type.
/// </summary>
internal static class TaskHeaders
{
    public const string Run = "TaskBus-Run";

    // 1973 in microseconds is the year 5138 in milliseconds: no timestamp is ambiguous.
    private const long MicrosecondsSince1973 = 100_000_000_000_000;

    /// <summary>The highest broker priority: high = 2, medium = 1, low = 0 (as a message with none).</summary>
    public const byte MaxPriority = 2;

    public static byte ToBrokerPriority(TaskPriority priority) => priority switch
    {
        TaskPriority.High => 2,
        TaskPriority.Medium => 1,
        _ => 0,
    };

    /// <summary>
    /// Makes a send or publish carry a queued run: its id as the message id, its priority as the broker's, the
    /// run header; on RabbitMQ the message is mandatory, so a message no queue takes fails the send instead of vanishing.
    /// </summary>
    public static void Stamp(SendContext context, TaskRun run)
    {
        context.MessageId = run.Guid;
        context.TrySetPriority(ToBrokerPriority(run.Priority));
        context.Headers.Set(Run, Format(run));
        if (context is RabbitMqSendContext rabbit)
            rabbit.Mandatory = true;
        if (context is PublishContext publish)
            publish.Mandatory = true;
    }

    /// <summary>The run header's value; the run must be queued.</summary>
    public static string Format(TaskRun run) => string.Create(CultureInfo.InvariantCulture,
        $"{(run.Queued!.Value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond};{run.Priority.ToWire()};{run.RetryAttempt};{run.RateLimitAttempt};{run.FromRunId};{run.RootRunId};{run.ScheduledFor?.ToUnixTimeMilliseconds()};{run.Task}");

    /// <summary>Reads the run header of a message, if it has one.</summary>
    public static bool TryRead(Headers headers, out RunHeader header) => TryRead(headers.Get<string>(Run), out header);

    /// <summary>Reads a run header's value.</summary>
    public static bool TryRead(string? text, out RunHeader header)
    {
        header = default;
        if (text is null)
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
        DateTimeOffset? scheduledFor = long.TryParse(parts[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var tick)
            ? DateTimeOffset.FromUnixTimeMilliseconds(tick)
            : null;
        // Microseconds keep runs queued within one millisecond in order; a millisecond value is an earlier version's.
        var queuedAt = queued > MicrosecondsSince1973
            ? DateTimeOffset.UnixEpoch.AddTicks(queued * TimeSpan.TicksPerMicrosecond)
            : DateTimeOffset.FromUnixTimeMilliseconds(queued);
        header = new RunHeader(queuedAt, priority, retry, rateLimit, parts[4], parts[5], scheduledFor, parts[7]);
        return true;
    }

    public readonly record struct RunHeader(
        DateTimeOffset Queued, TaskPriority Priority, int RetryAttempt, int RateLimitAttempt, string FromRunId, string RootRunId, DateTimeOffset? ScheduledFor, string Task);
}
