using TaskBus.Client;
using TaskBus.Contracts;

namespace TaskBus.MassTransit;

/// <summary>
/// The in-memory transport exposes neither the depth of its queue nor a way to empty it; its error queue is
/// TaskBus's own (<see cref="InMemoryErrorQueue"/>).
/// </summary>
internal sealed class InMemoryQueueControl(string queue, InMemoryErrorQueue errors, ErrorMessageReader reader) : IQueueControl
{
    public Task<long?> GetLengthAsync(CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    public Task<TaskQueueStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new TaskQueueStatus(queue, null, null, "the in-memory transport does not expose its queue"));

    public Task<IReadOnlyList<RemovedMessage>> RemoveAsync(TaskPriority? priority, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The in-memory transport (TaskBus:Transport InMemory) cannot remove messages from its queue.");

    public Task<IReadOnlyList<ErrorMessage>> PeekErrorsAsync(int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ErrorMessage>>([.. errors.Snapshot().Take(limit).Select(Read)]);

    public async Task<IReadOnlyList<T>> TakeErrorsAsync<T>(
        IReadOnlySet<string>? runIds, Func<ErrorMessage, Task<(bool Remove, T Result)>> handle, CancellationToken cancellationToken)
    {
        var results = new List<T>();
        var removed = new List<InMemoryErrorQueue.Entry>();
        foreach (var entry in errors.Snapshot())
        {
            var message = Read(entry);
            if (runIds is not null && !runIds.Contains(message.Info.RunId))
                continue;
            var (remove, result) = await handle(message);
            results.Add(result);
            if (remove)
                removed.Add(entry);
        }
        errors.Remove(removed);
        return results;
    }

    public Task<QueueMigration> MigrateAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new QueueMigration("in-memory", new Dictionary<string, long>(), [], []));

    private ErrorMessage Read(InMemoryErrorQueue.Entry entry) =>
        reader.Read(entry.MessageId, entry.Body, name => entry.Headers.TryGetValue(name, out var value) ? value : null);
}
