using TaskBus.Client;
using TaskBus.Storage;

namespace TaskBus.Http;

/// <summary>The body of <c>GET /tasks-status</c>.</summary>
internal sealed record TasksStatus
{
    /// <summary>Workers that reported within the last 5 s.</summary>
    public required IReadOnlyList<WorkerStatus> Workers { get; init; }

    /// <summary>Task messages waiting in the queue, or null where the transport cannot tell.</summary>
    public long? QueueLength { get; init; }

    /// <summary>The queue: its name, length, counts per priority and where those come from.</summary>
    public TaskQueueStatus? Queue { get; init; }
}

/// <summary>The body of <c>DELETE /tasks-queue[/{priority}]</c>.</summary>
/// <param name="Queue">The queue cleared.</param>
/// <param name="Priority">The priority cleared, or null for all.</param>
/// <param name="Removed">How many waiting runs were removed (each ended <c>aborted</c>).</param>
internal sealed record QueueCleared(string Queue, string? Priority, int Removed);
