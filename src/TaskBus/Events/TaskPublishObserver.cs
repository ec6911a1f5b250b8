using MassTransit;
using TaskBus.Contracts;
using TaskBus.Execution;

namespace TaskBus.Events;

/// <summary>
/// Marks every task message published by this process <c>queued</c>, just before it is sent:
/// runs queued through the manager, and plain <c>Publish(new Add {...})</c> calls, which get a
/// run (and their <c>init</c> event) here.
/// </summary>
internal sealed class TaskPublishObserver(TaskManager manager) : IPublishObserver
{
    public Task PrePublish<T>(PublishContext<T> context)
        where T : class
    {
        if (!manager.Registry.TryGet(typeof(T), out var task))
            return Task.CompletedTask;
        if (!context.TryGetPayload<TaskRun>(out var run))
        {
            run = manager.CreateTaskRun(task, context.Message, (context.MessageId ??= NewId.NextGuid()).ToString(), null);
            TaskHeaders.Prepare(context, run);
            manager.Dispatcher.Dispatch(run);
        }
        run.SetState(TaskState.Queued);
        TaskHeaders.Write(context, run);
        return Task.CompletedTask;
    }

    public Task PostPublish<T>(PublishContext<T> context)
        where T : class => Task.CompletedTask;

    public Task PublishFault<T>(PublishContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;
}
