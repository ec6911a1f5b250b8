using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

internal sealed class TaskMessage<TParams> : ITaskMessage
    where TParams : class
{
    public Task PublishAsync(IPublishEndpoint bus, TaskRun run, CancellationToken cancellationToken) =>
        bus.Publish((TParams)run.Params, context => Stamp(context, run), cancellationToken);

    public Task RepublishAsync(IPublishEndpoint bus, TaskRun run, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken) =>
        bus.Publish((TParams)run.Params, context =>
        {
            Stamp(context, run);
            // A waiter's request goes on with the run, so the final answer still reaches it.
            context.RequestId = requestId;
            context.ResponseAddress = responseAddress;
        }, cancellationToken);

    public string MessageType { get; } = MessageUrn.ForTypeString<TParams>();

    public async Task<TaskRunEvent> RequestAsync(IBus bus, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = bus.CreateRequestClient<TParams>(RequestTimeout.After(ms: (int)Math.Ceiling(timeout.TotalMilliseconds)));
        var response = await client.GetResponse<TaskRunEvent>(
            (TParams)run.Params,
            x => x.UseExecute(context => Stamp(context, run)),
            cancellationToken);
        return response.Message;
    }

    public void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, TaskConsumer consumer, TaskDescriptor task) =>
        endpoint.Consumer(() => new TaskMessageConsumer<TParams>(consumer, task));

    private static void Stamp(SendContext context, TaskRun run)
    {
        TaskHeaders.Prepare(context, run);
        // The publish observer finds the run here, marks it queued and writes its header just before it is sent.
        context.GetOrAddPayload(() => run);
    }
}
