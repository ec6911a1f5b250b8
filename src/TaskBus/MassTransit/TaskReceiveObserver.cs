using MassTransit;
using Microsoft.Extensions.Logging;
using TaskBus.Runs;

namespace TaskBus.MassTransit;

/// <summary>
/// Turns a task message that could not be processed (undecodable body, params that do not fit, a type no task
/// takes) into a <c>failure</c> of its run when its message id is known. MassTransit then moves the message to
/// the error queue with the reason in its headers.
/// </summary>
internal sealed partial class TaskReceiveObserver(RunLifecycle lifecycle, ILogger<TaskReceiveObserver> logger) : IReceiveObserver
{
    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        // A run cancelled at shutdown goes back to the queue; it is interrupted, not failed.
        if (exception is OperationCanceledException || context.GetMessageId() is not { } messageId)
            return Task.CompletedTask;
        var header = RunStamp.Read(context.TransportHeaders);
        var error = $"{exception.GetType().Name}: {exception.Message}";
        LogPoisonMessage(logger, messageId, header?.Task ?? "unknown", context.InputAddress, error);
        lifecycle.Unprocessable(messageId, header, error);
        return Task.CompletedTask;
    }

    public Task PreReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
        where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
        where T : class => Task.CompletedTask;

    [LoggerMessage(EventId = 1202, Level = LogLevel.Error, Message = "Message {MessageId} (task {Task}) on {Queue} cannot be processed and goes to the error queue: {Error}")]
    private static partial void LogPoisonMessage(ILogger logger, Guid messageId, string task, Uri queue, string error);
}
