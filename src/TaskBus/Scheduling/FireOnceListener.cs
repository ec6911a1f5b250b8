using Microsoft.Extensions.Logging;
using Quartz;
using TaskBus.Client;
using TaskBus.Tasks;

namespace TaskBus.Scheduling;

/// <summary>
/// <see cref="MisfirePolicy.FireOnce"/>: when Quartz finds a tick missed (no scheduler ran), the run of the
/// latest missed tick is queued at once. Quartz itself skips the missed ticks, which keeps the trigger on its
/// grid; its own fire-now instructions would move an interval's grid to the time of recovery.
/// </summary>
internal sealed partial class FireOnceListener(TaskManager manager, TaskTicks ticks, TimeProvider time, ILogger<FireOnceListener> logger) : ITriggerListener
{
    public string Name => "taskbus-fire-once";

    public ValueTask TriggerMisfired(ITrigger trigger, IScheduler scheduler, CancellationToken cancellationToken = default)
    {
        var name = trigger.JobKey.Name;
        if (manager.Registry.TryGet(name, out var task) && task.Schedule?.Misfire == MisfirePolicy.FireOnce
            && LatestTick(trigger, time.GetUtcNow()) is { } tick)
        {
            // Quartz calls this holding its trigger lock: the run is queued outside of it.
            _ = Task.Run(async () =>
            {
                LogFiringOnce(logger, name, tick);
                await ticks.QueueAsync(name, tick, CancellationToken.None);
            }, CancellationToken.None);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The latest missed tick: at or before <paramref name="now"/>, and not before the trigger's next fire time, which Quartz has not moved past the misfire yet.</summary>
    internal static DateTimeOffset? LatestTick(ITrigger trigger, DateTimeOffset now) =>
        trigger.NextFireTimeUtc is { } next ? TriggerGrid.LatestTick(trigger, now, next) : null;

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Ticks of {Task} were missed; the run of the latest, {Tick:O}, is queued once")]
    private static partial void LogFiringOnce(ILogger logger, string task, DateTimeOffset tick);
}
