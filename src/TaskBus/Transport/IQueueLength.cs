namespace TaskBus.Transport;

/// <summary>How many task messages wait in the task queue.</summary>
public interface IQueueLength
{
    /// <summary>The count, or null where the transport cannot tell (in-memory).</summary>
    Task<long?> GetAsync(CancellationToken cancellationToken);
}
