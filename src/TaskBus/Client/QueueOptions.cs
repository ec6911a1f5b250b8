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
    /// How long after it is queued the run may still start; a worker that receives it later ends it <c>aborted</c>
    /// ("expired"). Null: the task's default (<see cref="Tasks.TaskAttribute.ExpiresSeconds"/>), or never.
    /// </summary>
    public TimeSpan? Expires { get; init; }
}
