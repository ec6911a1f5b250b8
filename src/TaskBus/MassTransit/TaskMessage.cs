using MassTransit;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.MassTransit;

internal sealed class TaskMessage<TParams> : ITaskMessage
    where TParams : class
{
    public string MessageType { get; } = MessageUrn.ForTypeString<TParams>();

    public Task SendAsync(ISendEndpoint endpoint, RunStamp stamp, TaskRun run, RunReply? reply, CancellationToken cancellationToken) =>
        endpoint.Send((TParams)run.Params, context =>
        {
            stamp.Stamp(context, run);
            context.RequestId = reply?.RequestId;
            context.ResponseAddress = reply?.Address;
        }, cancellationToken);

    public async Task<TaskRunEvent> RequestAsync(IBus bus, Uri address, RunStamp stamp, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = bus.CreateRequestClient<TParams>(address, RequestTimeout.After(ms: (int)Math.Ceiling(timeout.TotalMilliseconds)));
        var response = await client.GetResponse<TaskRunEvent>(
            (TParams)run.Params,
            x => x.UseExecute(context => stamp.Stamp(context, run)),
            cancellationToken);
        return response.Message;
    }

    public void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, TaskDescriptor task, Lazy<ConsumePath> path) =>
        endpoint.Consumer(() => new TaskMessageConsumer<TParams>(path.Value, task));
}
