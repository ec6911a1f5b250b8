using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Execution;

internal sealed class TaskMessage<TParams> : ITaskMessage
    where TParams : class
{
    public Task PublishAsync(IPublishEndpoint bus, TaskRun run, TaskPriority taskDefault, CancellationToken cancellationToken) =>
        bus.Publish((TParams)run.Params, context => Stamp(context, run, taskDefault), cancellationToken);

    public async Task<TaskRunEvent> RequestAsync(IBus bus, TaskRun run, TaskPriority taskDefault, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = bus.CreateRequestClient<TParams>(RequestTimeout.After(ms: (int)Math.Ceiling(timeout.TotalMilliseconds)));
        var response = await client.GetResponse<TaskRunEvent>(
            (TParams)run.Params,
            x => x.UseExecute(context => Stamp(context, run, taskDefault)),
            cancellationToken);
        return response.Message;
    }

    public void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, TaskConsumer consumer) =>
        endpoint.Consumer(() => new TaskMessageConsumer<TParams>(consumer));

    private static void Stamp(SendContext context, TaskRun run, TaskPriority taskDefault)
    {
        TaskHeaders.Write(context, run, taskDefault);
        // The publish observer finds the run here and marks it queued just before it is sent.
        context.GetOrAddPayload(() => run);
    }
}
