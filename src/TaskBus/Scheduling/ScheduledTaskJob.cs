using Microsoft.Extensions.Logging;
using Quartz;

namespace TaskBus.Scheduling;

/// <summary>
/// The Quartz job behind every scheduled task: each fire queues the run of the tick it was scheduled for.
/// Fires of one task may overlap (a randomized wait): each is its own tick. The job asks for recovery: when a
/// scheduler dies while firing it, another fires it again, and the run of the same tick is queued (the consumer
/// drops it if the first fire had queued it already).
/// </summary>
internal sealed partial class ScheduledTaskJob(TaskTicks ticks, ILogger<ScheduledTaskJob> logger) : IJob
{
    public const string TaskKey = "task";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var name = context.MergedJobDataMap.GetString(TaskKey)!;
        var fired = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        if (!context.Recovering)
        {
            await ticks.QueueAsync(name, fired, cancellationToken);
            return;
        }
        // A recovery trigger fires at the time the lost fire happened: its tick is the trigger's latest at or before it.
        var original = context.RecoveringTriggerKey is { } key ? await context.Scheduler.GetTrigger(key, cancellationToken) : null;
        if (original is not null && TriggerGrid.LatestTick(original, fired) is { } tick)
        {
            LogRecovering(logger, name, tick);
            await ticks.QueueAsync(name, tick, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "A scheduler died while firing {Task}: the run of {Tick:O} is queued again, once")]
    private static partial void LogRecovering(ILogger logger, string task, DateTimeOffset tick);
}
