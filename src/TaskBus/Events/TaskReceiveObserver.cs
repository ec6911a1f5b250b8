using MassTransit;
using Microsoft.Extensions.Logging;
using TaskBus.Execution;

namespace TaskBus.Events;

/// <summary>
/// Turns a task message that could not be processed (undecodable body, params that do not fit,
/// a type no task takes) into a <c>failure</c> event when its run id is known. MassTransit then
/// moves the message to the error queue with the reason in its headers.
/// </summary>
internal sealed partial class TaskReceiveObserver(TaskManager manager, ILogger<TaskReceiveObserver> logger) : IReceiveObserver
{
    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        // A run cancelled at shutdown goes back to the queue; it is interrupted, not failed.
        if (exception is OperationCanceledException || context.GetMessageId() is not { } messageId)
            return Task.CompletedTask;
        var known = TaskHeaders.TryRead(context.TransportHeaders, out var header);
        var taskName = known ? header.Task : "unknown";
        var error = $"{exception.GetType().Name}: {exception.Message}";
        LogPoisonMessage(logger, messageId, taskName, context.InputAddress, error);
        var run = new TaskRun(messageId, taskName, known ? header.Priority : default, EmptyParams.Instance, manager.Time, manager.Dispatcher);
        run.RestoreQueued(known ? header.Queued : manager.Time.GetUtcNow());
        run.Fail(error);
        return Task.CompletedTask;
    }

    public Task PreReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
        where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
        where T : class => Task.CompletedTask;

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "Message {MessageId} (task {Task}) on {Queue} cannot be processed and goes to the error queue: {Error}")]
    private static partial void LogPoisonMessage(ILogger logger, Guid messageId, string task, Uri queue, string error);

    private sealed class EmptyParams
    {
        public static readonly EmptyParams Instance = new();
    }
}
