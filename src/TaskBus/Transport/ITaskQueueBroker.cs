using TaskBus.Contracts;

namespace TaskBus.Transport;

/// <summary>What TaskBus reads from, and removes from, its group's queue on the broker.</summary>
internal interface ITaskQueueBroker
{
    /// <summary>How many messages wait, read live; null where the transport cannot tell.</summary>
    Task<long?> GetLengthAsync(CancellationToken cancellationToken);

    /// <summary>How many messages wait, in all and per priority, as far as the transport can tell.</summary>
    Task<TaskQueueStatus> GetStatusAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Removes the waiting messages (of one priority, or all) and returns them, so their runs can be ended.
    /// Messages already delivered to a worker are not waiting and stay.
    /// </summary>
    /// <exception cref="NotSupportedException">The transport cannot remove messages from its queue.</exception>
    Task<IReadOnlyList<WaitingMessage>> RemoveAsync(TaskPriority? priority, CancellationToken cancellationToken);
}

/// <summary>A message taken out of the task queue: its id, TaskBus run header (if any) and body.</summary>
internal sealed record WaitingMessage(Guid? MessageId, string? RunHeader, ReadOnlyMemory<byte> Body);

/// <summary>The in-memory transport exposes neither the depth of its queue nor a way to empty it.</summary>
internal sealed class InMemoryTaskQueueBroker(string queue) : ITaskQueueBroker
{
    public Task<long?> GetLengthAsync(CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    public Task<TaskQueueStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new TaskQueueStatus(queue, null, null, "the in-memory transport does not expose its queue"));

    public Task<IReadOnlyList<WaitingMessage>> RemoveAsync(TaskPriority? priority, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The in-memory transport (TaskBus:Transport InMemory) cannot remove messages from its queue.");
}
