using MassTransit;
using TaskBus.Contracts;
using TaskBus.Execution;

namespace TaskBus.Events;

/// <summary>
/// Gives a run to a task message published with plain MassTransit from this process
/// (<c>Publish(new Add {...})</c>): <c>init</c> and <c>queued</c> just before it is sent, its id the message id,
/// and <c>failure</c> when the broker does not take it. Runs queued through <see cref="TaskManager"/> are sent,
/// not published, and never come here.
/// </summary>
internal sealed class TaskPublishObserver(TaskManager manager) : IPublishObserver
{
    public Task PrePublish<T>(PublishContext<T> context)
        where T : class
    {
        if (manager.Registry.TryGet(typeof(T), out var task))
        {
            var run = manager.CreateTaskRun(task, context.Message, (context.MessageId ??= NewId.NextGuid()).ToString(), null);
            manager.Dispatcher.Dispatch(run);
            run.SetState(TaskState.Queued);
            TaskHeaders.Stamp(context, run);
        }
        return Task.CompletedTask;
    }

    public Task PostPublish<T>(PublishContext<T> context)
        where T : class => Task.CompletedTask;

    public Task PublishFault<T>(PublishContext<T> context, Exception exception)
        where T : class
    {
        if (manager.Registry.TryGet(typeof(T), out var task) && context.MessageId is { } id && TaskHeaders.TryRead(context.Headers, out var header))
        {
            var run = manager.CreateTaskRun(task, context.Message, id.ToString(), header.Priority);
            run.RestoreQueued(header.Queued);
            run.Fail($"not queued: {exception.GetType().Name}: {exception.Message}");
        }
        return Task.CompletedTask;
    }
}
