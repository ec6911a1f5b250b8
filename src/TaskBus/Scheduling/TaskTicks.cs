using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using TaskBus.Client;
using TaskBus.Runs;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus.Scheduling;

/// <summary>
/// Queues the run of one tick of a task's schedule: default params, <see cref="TaskRun.ScheduledFor"/> the
/// tick, and an id from group, task and tick, the same in every scheduler that fires it, so the consumer runs
/// a tick fired twice once. A disabled task's ticks queue nothing.
/// </summary>
internal sealed partial class TaskTicks(TaskManager manager, ITaskStore store, TimeProvider time, ILogger<TaskTicks> logger)
{
    public async Task QueueAsync(string name, DateTimeOffset tick, CancellationToken cancellationToken)
    {
        var task = manager.Registry.Get(name);
        // A crontab restricting both day fields has a trigger on its days of month: the other weekdays are no tick.
        if (task.Schedule is CronSchedule cron && !cron.FiresAt(tick))
            return;
        if (!(await store.GetTaskAsync(name, cancellationToken)).Enabled)
            return;
        if (task.Schedule is { Randomize: var randomize } schedule && randomize > TimeSpan.Zero)
            await Task.Delay(schedule.DelayBeforeQueue(Random.Shared.NextDouble()), time, cancellationToken);
        try
        {
            var run = TaskManager.CreateTickRun(task, RunId(manager.Options.QueueName, name, tick), tick);
            // Skip: the tick holds the task's schedule key while its run is queued or running; a tick that finds it held queues nothing.
            var queued = await manager.QueueAsync(run, task.Schedule?.Overlap == OverlapPolicy.Skip ? SkipOverlap : NoOptions, cancellationToken);
            if (queued.Deduplicated)
                LogSkipped(logger, name, tick, queued.Id, queued.State);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogQueueFailed(logger, ex, name, tick);
        }
    }

    /// <summary>The unique key of a task's ticks under <see cref="OverlapPolicy.Skip"/>.</summary>
    internal const string ScheduleKey = "taskbus:schedule";

    private static readonly QueueOptions SkipOverlap = new() { UniqueKey = ScheduleKey };
    private static readonly QueueOptions NoOptions = new();

    /// <summary>The run id of one tick of one worker group's task.</summary>
    internal static Guid RunId(string queue, string task, DateTimeOffset tick)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"taskbus-tick:{queue}:{task}:{tick.UtcTicks}")));
        hash[7] = (byte)((hash[7] & 0x0F) | 0x50); // version 5 layout: name-based
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash.AsSpan(0, 16));
    }

    [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "Skipped the tick {Tick:O} of {Task}: its run {RunId} is still {State} (overlap Skip)")]
    private static partial void LogSkipped(ILogger logger, string task, DateTimeOffset tick, string runId, Contracts.TaskState state);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "The run of {Task} for {Tick:O} could not be queued")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception, string task, DateTimeOffset tick);
}
