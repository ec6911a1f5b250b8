using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using TaskBus.Contracts;
using TaskBus.Diagnostics;

namespace TaskBus.Execution;

/// <summary>The MassTransit consumer of one task's message: a thin shell around <see cref="TaskConsumer"/>.</summary>
internal sealed class TaskMessageConsumer<TParams>(TaskConsumer consumer, TaskDescriptor task) : IConsumer<TParams>
    where TParams : class
{
    public async Task Consume(ConsumeContext<TParams> context)
    {
        var run = consumer.RunFromMessage(task, context.Message, context);
        var span = TaskBusTelemetry.StartRun(run);
        ConsumeOutcome outcome;
        try
        {
            await using var scope = consumer.Services.CreateAsyncScope();
            outcome = await consumer.ConsumeAsync(
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
}
