using TaskBus.Contracts;

namespace TaskBus.Client;

/// <summary>How one run is queued, beside its task and params.</summary>
public sealed record QueueOptions
{
    /// <summary>The run's priority; the task's when null.</summary>
    public TaskPriority? Priority { get; init; }

    /// <summary>
    /// A unique key: while a run of the same task and key is queued or running (its retries included), queueing again
    /// sends nothing and returns that run, marked <see cref="Runs.TaskRun.Deduplicated"/>. Null: the task's default
    /// (<see cref="Tasks.TaskAttribute.Unique"/>: a key made of the params), or none.
    /// </summary>
    public string? UniqueKey { get; init; }

    /// <summary>
    /// Send the run this long from now: it waits in the store, <c>queued</c>, with its due time (<see cref="Runs.TaskRun.Due"/>),
    /// and is sent to the queue when due by a consuming worker. Null: at once. Not with <see cref="At"/>.
    /// </summary>
    public TimeSpan? Delay { get; init; }

    /// <summary>Send the run at this time, as <see cref="Delay"/> does. A time already past: at once. Not with <see cref="Delay"/>.</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>
    /// How long after it is queued (after it is due, for a delayed run) the run may still start; a worker that receives it later ends it <c>aborted</c>
    /// ("expired"). Null: the task's default (<see cref="Tasks.TaskAttribute.ExpiresSeconds"/>), or never.
    /// </summary>
    public TimeSpan? Expires { get; init; }
}
