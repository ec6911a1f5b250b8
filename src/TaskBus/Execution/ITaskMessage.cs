using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

/// <summary>The bus operations of one task's message type, made generic once at registration.</summary>
internal interface ITaskMessage
{
    Task PublishAsync(IPublishEndpoint bus, TaskRun run, CancellationToken cancellationToken);

    /// <summary>Publishes a retry or re-queued copy of a run, keeping the waiter's request id and response address.</summary>
    Task RepublishAsync(IPublishEndpoint bus, TaskRun run, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken);

    /// <summary>MassTransit's message type URN of the params record.</summary>
    string MessageType { get; }

    Task<TaskRunEvent> RequestAsync(IBus bus, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken);

    void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, TaskConsumer consumer, TaskDescriptor task);
}
