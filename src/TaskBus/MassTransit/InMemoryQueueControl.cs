using TaskBus.Client;
using TaskBus.Contracts;

namespace TaskBus.MassTransit;

/// <summary>The in-memory transport exposes neither the depth of its queue nor a way to empty it.</summary>
internal sealed class InMemoryQueueControl(string queue) : IQueueControl
{
    public Task<long?> GetLengthAsync(CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    public Task<TaskQueueStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new TaskQueueStatus(queue, null, null, "the in-memory transport does not expose its queue"));

    public Task<IReadOnlyList<RemovedMessage>> RemoveAsync(TaskPriority? priority, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The in-memory transport (TaskBus:Transport InMemory) cannot remove messages from its queue.");
}
