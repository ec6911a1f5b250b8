using Quartz;

namespace TaskBus.Scheduling;

/// <summary>
/// The Quartz job behind every scheduled task: each fire queues the run of the tick it was scheduled for.
/// Fires of one task may overlap (a randomized wait): each is its own tick.
/// </summary>
internal sealed class ScheduledTaskJob(TaskTicks ticks) : IJob
{
    public const string TaskKey = "task";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await ticks.QueueAsync(
            context.MergedJobDataMap.GetString(TaskKey)!,
            context.ScheduledFireTimeUtc ?? context.FireTimeUtc,
            cancellationToken);
}
