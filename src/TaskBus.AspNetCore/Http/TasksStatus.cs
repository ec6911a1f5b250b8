using TaskBus.Storage;

namespace TaskBus.Http;

/// <summary>The body of <c>GET /tasks-status</c>.</summary>
public sealed record TasksStatus
{
    /// <summary>Workers that reported within the last 5 s.</summary>
    public required IReadOnlyList<WorkerStatus> Workers { get; init; }

    /// <summary>Task messages waiting in the queue, or null where the transport cannot tell.</summary>
    public long? QueueLength { get; init; }
}
