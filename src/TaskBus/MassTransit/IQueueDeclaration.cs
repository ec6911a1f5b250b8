namespace TaskBus.MassTransit;

/// <summary>Declares the task queue on the broker as a worker declares it, so a sender can queue before any worker ran.</summary>
internal interface IQueueDeclaration
{
    /// <summary>Declares the queue and what routes to it; idempotent.</summary>
    Task DeclareAsync(CancellationToken cancellationToken);
}
