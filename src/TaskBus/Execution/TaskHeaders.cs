using System.Globalization;
using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

/// <summary>
/// The message headers that carry a run across the bus. The run id is the message id; the rest
/// are only written when they differ from their default, to keep each message small.
/// </summary>
internal static class TaskHeaders
{
    public const string Task = "TaskBus-Task";
    public const string Queued = "TaskBus-Queued";
    public const string Priority = "TaskBus-Priority";
    public const string FromRunId = "TaskBus-FromRunId";
    public const string RootRunId = "TaskBus-RootRunId";
    public const string RetryAttempt = "TaskBus-RetryAttempt";
    public const string RateLimitAttempt = "TaskBus-RateLimitAttempt";

    /// <summary>RabbitMQ priority of each <see cref="TaskPriority"/>; a message with none counts as low.</summary>
    public const byte MaxPriority = 2;

    public static byte ToBrokerPriority(TaskPriority priority) => priority switch
    {
        TaskPriority.High => 2,
        TaskPriority.Medium => 1,
        _ => 0,
    };

    /// <summary>Stamps what the worker needs to rebuild the run; called before the run is marked queued.</summary>
    public static void Write(SendContext context, TaskRun run, TaskPriority taskDefault)
    {
        context.MessageId = Guid.ParseExact(run.Id, "N");
        context.TrySetPriority(ToBrokerPriority(run.Priority));
        var headers = context.Headers;
        headers.Set(Task, run.Task);
        if (run.Priority != taskDefault)
            headers.Set(Priority, run.Priority.ToWire());
        if (run.FromRunId.Length > 0)
            headers.Set(FromRunId, run.FromRunId);
        if (run.RootRunId.Length > 0)
            headers.Set(RootRunId, run.RootRunId);
        if (run.RetryAttempt > 0)
            headers.Set(RetryAttempt, run.RetryAttempt.ToString(CultureInfo.InvariantCulture));
        if (run.RateLimitAttempt > 0)
            headers.Set(RateLimitAttempt, run.RateLimitAttempt.ToString(CultureInfo.InvariantCulture));
    }

    public static void WriteQueued(SendContext context, DateTimeOffset queued) =>
        context.Headers.Set(Queued, queued.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));

    public static DateTimeOffset? ReadQueued(Headers headers) =>
        headers.Get<string>(Queued) is { } text && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    public static TaskPriority ReadPriority(Headers headers, TaskPriority taskDefault) =>
        TaskStateExtensions.TryParsePriority(headers.Get<string>(Priority), out var priority) ? priority : taskDefault;

    public static int ReadInt(Headers headers, string key) =>
        headers.Get<string>(key) is { } text && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;
}
