using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

internal sealed class TaskMessage<TParams> : ITaskMessage
    where TParams : class
{
    public string MessageType { get; } = MessageUrn.ForTypeString<TParams>();

    public Task SendAsync(ISendEndpoint endpoint, TaskRun run, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken) =>
        endpoint.Send((TParams)run.Params, context =>
        {
            TaskHeaders.Stamp(context, run);
            context.RequestId = requestId;
            context.ResponseAddress = responseAddress;
        }, cancellationToken);

    public async Task<TaskRunEvent> RequestAsync(IBus bus, Uri address, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = bus.CreateRequestClient<TParams>(address, RequestTimeout.After(ms: (int)Math.Ceiling(timeout.TotalMilliseconds)));
        var response = await client.GetResponse<TaskRunEvent>(
            (TParams)run.Params,
            x => x.UseExecute(context => TaskHeaders.Stamp(context, run)),
            cancellationToken);
        return response.Message;
    }

    public void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, TaskConsumer consumer, TaskDescriptor task) =>
        endpoint.Consumer(() => new TaskMessageConsumer<TParams>(consumer, task));
}
