using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.Client;

/// <summary>What the client reads from, and takes out of, its group's queue on the broker.</summary>
internal interface IQueueControl
{
    /// <summary>How many messages wait, read live; null where the transport cannot tell.</summary>
    Task<long?> GetLengthAsync(CancellationToken cancellationToken);

    /// <summary>How many messages wait, in all and per priority, as far as the transport can tell.</summary>
    Task<TaskQueueStatus> GetStatusAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Takes the waiting messages (of one priority, or all) out of the queue and returns them, so their runs can be
    /// ended. Messages already delivered to a worker are not waiting and stay.
    /// </summary>
    /// <exception cref="NotSupportedException">The transport cannot take messages out of its queue.</exception>
    Task<IReadOnlyList<RemovedMessage>> RemoveAsync(TaskPriority? priority, CancellationToken cancellationToken);
}

/// <summary>
/// A message taken out of the task queue: its id and run header, when it has them, and its params, read as its
/// task's record where that task is known (null otherwise, or where they did not read).
/// </summary>
internal sealed record RemovedMessage(Guid? MessageId, RunHeader? Header, object? Params);
