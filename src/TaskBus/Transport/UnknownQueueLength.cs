namespace TaskBus.Transport;

/// <summary>The in-memory transport does not expose its queue depth.</summary>
internal sealed class UnknownQueueLength : IQueueLength
{
    public Task<long?> GetAsync(CancellationToken cancellationToken) => Task.FromResult<long?>(null);
}
