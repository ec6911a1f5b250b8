using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

/// <summary>The bus operations of one task's message type, made generic once at registration.</summary>
internal interface ITaskMessage
{
    Task PublishAsync(IPublishEndpoint bus, TaskRun run, CancellationToken cancellationToken);

    Task<TaskRunEvent> RequestAsync(IBus bus, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken);

    void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, TaskConsumer consumer, TaskDescriptor task);
}
