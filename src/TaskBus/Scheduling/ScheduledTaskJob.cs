using Microsoft.Extensions.Logging;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Quartz;
using TaskBus.Storage;

namespace TaskBus.Scheduling;

/// <summary>The Quartz job behind every scheduled task: on each fire it queues one run with default params.</summary>
[DisallowConcurrentExecution]
internal sealed partial class ScheduledTaskJob(TaskManager manager, ITaskStore store, ILogger<ScheduledTaskJob> logger) : IJob
{
    public const string TaskKey = "task";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var name = context.MergedJobDataMap.GetString(TaskKey)!;
        var task = manager.Registry.Get(name);
        // A disabled task's ticks queue nothing.
        if (!(await store.GetTaskAsync(name, cancellationToken)).Enabled)
            return;
        var tick = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        if (task.Schedule is { Randomize: var randomize } schedule && randomize > TimeSpan.Zero)
            await Task.Delay(schedule.DelayBeforeQueue(Random.Shared.NextDouble()), manager.Time, cancellationToken);
        try
        {
            await manager.QueueAsync(manager.CreateTaskRun(task, null, TickRunId(name, tick), null, isTick: true), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogQueueFailed(logger, ex, name);
        }
    }

    /// <summary>The run id of one tick: the same for every scheduler that fires it, so a second run of it can be recognised.</summary>
    internal static Guid TickRunId(string task, DateTimeOffset tick)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"taskbus-tick:{task}:{tick.UtcTicks}")));
        hash[7] = (byte)((hash[7] & 0x0F) | 0x50); // version 5 layout: name-based
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash.AsSpan(0, 16));
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "Scheduled run of {Task} could not be queued")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception, string task);
}
