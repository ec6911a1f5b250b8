using MassTransit;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.MassTransit;

/// <summary>
/// Gives a run to a task's record published with plain MassTransit from this process (<c>Publish(new Add {...})</c>):
/// <c>init</c> and <c>queued</c> just before it is sent, its id the message id, and <c>failure</c> when the broker
/// does not take it. Runs queued through the client are sent, not published, and never come here.
/// </summary>
internal sealed class TaskPublishObserver(TaskRegistry registry, RunLifecycle lifecycle, RunStamp stamp) : IPublishObserver
{
    public Task PrePublish<T>(PublishContext<T> context)
        where T : class
    {
        if (registry.TryGet(typeof(T), out var task))
        {
            var run = RunFactory.New(task, context.Message, context.MessageId ??= NewId.NextGuid());
            lifecycle.Queue(run);
            stamp.Stamp(context, run);
        }
        return Task.CompletedTask;
    }

    public Task PostPublish<T>(PublishContext<T> context)
        where T : class => Task.CompletedTask;

    public Task PublishFault<T>(PublishContext<T> context, Exception exception)
        where T : class
    {
        if (registry.TryGet(typeof(T), out var task) && context.MessageId is { } id && RunStamp.Read(context.Headers) is { } header)
            lifecycle.NotQueued(RunFactory.FromHeader(id, task.Name, header, context.Message, redelivered: false), $"not queued: {exception.GetType().Name}: {exception.Message}");
        return Task.CompletedTask;
    }
}
