using Quartz;

namespace TaskBus.Scheduling;

/// <summary>The ticks of a task's trigger: an interval's start plus whole intervals, or a crontab's times.</summary>
internal static class TriggerGrid
{
    /// <summary>How far back a crontab's latest tick is looked for.</summary>
    private static readonly TimeSpan CronLookBack = TimeSpan.FromDays(1);

    /// <summary>
    /// The latest tick of <paramref name="trigger"/> at or before <paramref name="at"/>, no earlier than
    /// <paramref name="notBefore"/>; null when there is none.
    /// </summary>
    public static DateTimeOffset? LatestTick(ITrigger trigger, DateTimeOffset at, DateTimeOffset? notBefore = null)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        var from = notBefore ?? trigger.StartTimeUtc;
        if (at < from || at < trigger.StartTimeUtc)
            return null;
        if (trigger is ISimpleTrigger simple)
        {
            var start = trigger.StartTimeUtc;
            var tick = start + TimeSpan.FromTicks((at - start).Ticks / simple.RepeatInterval.Ticks * simple.RepeatInterval.Ticks);
            return tick >= from ? tick : null;
        }
        DateTimeOffset? latest = null;
        var after = from > at - CronLookBack ? from.AddTicks(-1) : at - CronLookBack;
        while (trigger.GetFireTimeAfter(after) is { } next && next <= at)
            latest = after = next;
        return latest;
    }
}
