namespace TaskBus.Transport;

/// <summary>Declares the task queue on the broker, as the worker declares it, so a sender can queue before any worker ran.</summary>
internal interface ITaskQueueTopology
{
    /// <summary>Declares the queue and what routes to it; idempotent.</summary>
    Task DeclareAsync(CancellationToken cancellationToken);
}
