using Microsoft.Extensions.Logging;
using Quartz;

namespace TaskBus.Scheduling;

/// <summary>The Quartz job behind every scheduled task: on each fire it queues one run with default params.</summary>
[DisallowConcurrentExecution]
internal sealed partial class ScheduledTaskJob(TaskManager manager, ILogger<ScheduledTaskJob> logger) : IJob
{
    public const string TaskKey = "task";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var name = context.MergedJobDataMap.GetString(TaskKey)!;
        var task = manager.Registry.Get(name);
        if (task.Schedule is { Randomize: var randomize } schedule && randomize > TimeSpan.Zero)
            await Task.Delay(schedule.DelayBeforeQueue(Random.Shared.NextDouble()), manager.Time, cancellationToken);
        try
        {
            await manager.QueueAsync(manager.CreateTaskRun(name), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogQueueFailed(logger, ex, name);
        }
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "Scheduled run of {Task} could not be queued")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception, string task);
}
