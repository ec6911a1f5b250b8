using MassTransit;
using TaskBus.Consuming;
using TaskBus.Diagnostics;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.MassTransit;

/// <summary>
/// The MassTransit consumer of one task's record: a thin shell that has the run rebuilt from its message, hands it
/// to the consume path (<see cref="RunProcessor"/>) and answers the caller that waits for it. A fault in the consume
/// path itself (not the task's: that is the run's failure) ends the run <c>failure</c> with the fault before the
/// message goes to the error queue, so every run that ends there has its final state told and stored.
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
        catch (Exception ex) when (!context.CancellationToken.IsCancellationRequested)
        {
            // The message leaves for the error queue when this throws: its run's final state is recorded first.
            if (!run.State.IsFinished())
                path.Lifecycle.Fail(run, $"{ex.GetType().Name}: {ex.Message}");
            await path.Lifecycle.FlushAsync().WaitAsync(context.CancellationToken);
            throw;
        }
        finally
        {
            if (span is not null)
                TaskBusTelemetry.EndRun(span, run);
        }
        if (outcome != ConsumeOutcome.Finished)
            return;
        // The message is acknowledged when this returns: the run's final state is recorded first, however long the
        // store takes to come back. At shutdown the wait ends and the message goes back to the queue.
        await path.Lifecycle.FlushAsync().WaitAsync(context.CancellationToken);
        if (reply is not null)
            await context.RespondAsync(run.ToEvent(ThisWorker.Name));
    }
}
