using TaskBus.Runs;

namespace TaskBus.MassTransit;

/// <summary>Holds a queued run for a delay in the broker, not in this process, then puts it in the task queue.</summary>
internal interface IDelayedDelivery
{
    /// <summary>Hands the run to the broker, to be in the task queue after <paramref name="delay"/>; returns once the broker has it.</summary>
    Task SendAsync(string messageType, TaskRun run, TimeSpan delay, RunReply? reply, CancellationToken cancellationToken);
}
