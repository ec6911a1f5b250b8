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

    /// <summary>The first <paramref name="limit"/> messages of the error queue, oldest first; they stay where they are.</summary>
    Task<IReadOnlyList<ErrorMessage>> PeekErrorsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Hands each message of the error queue (those of <paramref name="runIds"/>, or all) to <paramref name="handle"/>,
    /// one at a time; a message it says to remove leaves the error queue, the others stay where they were. Messages
    /// that reach the error queue meanwhile are not this call's.
    /// </summary>
    Task<IReadOnlyList<T>> TakeErrorsAsync<T>(
        IReadOnlySet<string>? runIds, Func<ErrorMessage, Task<(bool Remove, T Result)>> handle, CancellationToken cancellationToken);

    /// <summary>Moves the group's waiting runs from the queues of another layout to this process's; nothing where the transport has one layout.</summary>
    Task<QueueMigration> MigrateAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A message taken out of the task queue: its id and run header, when it has them, and its params, read as its
/// task's record where that task is known (null otherwise, or where they did not read).
/// </summary>
internal sealed record RemovedMessage(Guid? MessageId, RunHeader? Header, object? Params);

/// <summary>A message of the error queue as the client reads it: what it says, and its params where they read.</summary>
/// <param name="Info">What failed and why.</param>
/// <param name="Params">The message's params as JSON (the envelope's message), null when the body is no message.</param>
internal sealed record ErrorMessage(FailedMessage Info, System.Text.Json.JsonElement? Params);
