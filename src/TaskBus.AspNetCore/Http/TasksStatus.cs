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

    /// <summary>True while the worker group is paused: its workers take no runs.</summary>
    public bool Paused { get; init; }

    /// <summary>How much history the store holds: runs (PostgreSQL's estimate), the oldest, and the retention set.</summary>
    public HistoryStatus? History { get; init; }
}

/// <summary>The history part of <c>GET /tasks-status</c>.</summary>
/// <param name="Runs">Runs stored (with PostgreSQL, its planner's estimate).</param>
/// <param name="Oldest">When the oldest stored run was queued.</param>
/// <param name="Retention">How long ended runs are kept, or null for ever.</param>
/// <param name="FailureRetention">How long failed runs are kept, or null for ever.</param>
internal sealed record HistoryStatus(long Runs, DateTimeOffset? Oldest, TimeSpan? Retention, TimeSpan? FailureRetention);

/// <summary>The body of <c>POST /tasks-queue/pause</c> and <c>/resume</c>.</summary>
/// <param name="Queue">The worker group's queue.</param>
/// <param name="Paused">Whether it is paused now.</param>
internal sealed record QueuePause(string Queue, bool Paused);

/// <summary>The body of <c>DELETE /tasks-queue[/{priority}]</c>.</summary>
/// <param name="Queue">The queue cleared.</param>
/// <param name="Priority">The priority cleared, or null for all.</param>
/// <param name="Removed">How many waiting runs were removed (each ended <c>aborted</c>).</param>
internal sealed record QueueCleared(string Queue, string? Priority, int Removed);
