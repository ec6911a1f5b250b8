using MassTransit;
using TaskBus.Consuming;
using TaskBus.Diagnostics;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.MassTransit;

/// <summary>
/// The MassTransit consumer of one task's record: a thin shell that has the run rebuilt from its message, hands it
/// to the consume path (<see cref="RunProcessor"/>) and answers the caller that waits for it.
/// </summary>
internal sealed class TaskMessageConsumer<TParams>(ConsumePath path, TaskDescriptor task) : IConsumer<TParams>
    where TParams : class
{
    public async Task Consume(ConsumeContext<TParams> context)
    {
        var redelivered = context.ReceiveContext.Redelivered;
        var run = path.Lifecycle.Receive(
            context.MessageId ?? NewId.NextGuid(), task, RunStamp.Read(context.Headers), context.Message, redelivered,
            context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : null);
        RunReply? reply = context is { RequestId: { } request, ResponseAddress: { } address } ? new RunReply(request, address) : null;
        var span = TaskBusTelemetry.StartRun(run);
        ConsumeOutcome outcome;
        try
        {
            outcome = await path.Processor.ProcessAsync(task, run, new Delivery(redelivered, reply), context.CancellationToken);
        }
        finally
        {
            if (span is not null)
                TaskBusTelemetry.EndRun(span, run);
        }
        if (outcome != ConsumeOutcome.Finished)
            return;
        // The message is acknowledged when this returns: the run's final state is recorded first.
        await path.Lifecycle.FlushAsync();
        if (reply is not null)
            await context.RespondAsync(run.ToEvent(ThisWorker.Name));
    }
}
