using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using TaskBus.Contracts;
using TaskBus.Diagnostics;

namespace TaskBus.Execution;

/// <summary>
/// The MassTransit consumer of one task's message: a thin shell that rebuilds the run from the message, hands it to
/// the consume path (<see cref="TaskRunProcessor"/>), re-queues through the broker, and answers a request.
/// </summary>
internal sealed class TaskMessageConsumer<TParams>(TaskConsumer consumer, TaskDescriptor task) : IConsumer<TParams>
    where TParams : class
{
    public async Task Consume(ConsumeContext<TParams> context)
    {
        var run = RunFromMessage(context);
        var span = TaskBusTelemetry.StartRun(run);
        ConsumeOutcome outcome;
        try
        {
            await using var scope = consumer.Services.CreateAsyncScope();
            outcome = await consumer.Processor.ProcessAsync(
                task, run, scope.ServiceProvider, context.ReceiveContext.Redelivered,
                (next, delay) => consumer.RequeueAsync(task, next, delay, context.RequestId, context.ResponseAddress, context.CancellationToken),
                context.CancellationToken);
        }
        finally
        {
            if (span is not null)
                TaskBusTelemetry.EndRun(span, run);
        }
        if (outcome != ConsumeOutcome.Finished)
            return;
        // The message is acknowledged when this returns: the run's final state is recorded first.
        await consumer.StateChangesWentOutAsync();
        if (context.RequestId.HasValue && context.ResponseAddress is not null)
            await context.RespondAsync(run.ToEvent(TaskManager.WorkerName));
    }

    /// <summary>The run a task message carries: id from the message id, the rest from TaskBus headers, defaults for a plain message.</summary>
    private TaskRun RunFromMessage(ConsumeContext<TParams> context)
    {
        var id = context.MessageId ?? NewId.NextGuid();
        var redelivered = context.ReceiveContext.Redelivered;
        // Queued by a TaskBus manager, which already dispatched init and queued.
        if (TaskHeaders.TryRead(context.Headers, out var header))
            return consumer.RestoreRun(id, task, header, context.Message, redelivered);
        // A plain MassTransit publish: this is the first TaskBus sees of the run.
        var run = new TaskRun(id, task.Name, task.Priority, context.Message, consumer.Time, consumer.Dispatcher) { Redelivered = redelivered };
        consumer.Dispatcher.Dispatch(run);
        run.SetState(TaskState.Queued, context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : null);
        return run;
    }
}
