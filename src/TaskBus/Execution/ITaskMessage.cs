using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

/// <summary>The bus operations of one task's message type, made generic once at registration.</summary>
internal interface ITaskMessage
{
    /// <summary>MassTransit's message type URN of the params record.</summary>
    string MessageType { get; }

    /// <summary>
    /// Sends a queued run's params to an endpoint, stamped with the run; a retry or re-queued round keeps its
    /// waiter's request id and response address, so the final answer still reaches it.
    /// </summary>
    Task SendAsync(ISendEndpoint endpoint, TaskRun run, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken);

    /// <summary>Sends a queued run to <paramref name="address"/> as a request and waits for its final event.</summary>
    Task<TaskRunEvent> RequestAsync(IBus bus, Uri address, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken);

    void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, TaskConsumer consumer, TaskDescriptor task);
}
