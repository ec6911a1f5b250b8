using Microsoft.Extensions.Hosting;
using Quartz;

namespace TaskBus.Scheduling;

/// <summary>Schedules one Quartz job per scheduled task when the host starts.</summary>
internal sealed class TaskScheduleRegistrar(TaskManager manager, ISchedulerFactory schedulers) : IHostedService
{
    private const string Group = "taskbus";
    private const string SignatureKey = "schedule";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var now = manager.Time.GetUtcNow();
        foreach (var task in manager.Registry)
        {
            var key = new JobKey(task.Name, Group);
            if (task.Schedule is null || task.Invoker is null)
            {
                await scheduler.DeleteJob(key, cancellationToken);
                continue;
            }
            // With a shared (clustered) store the job may already be scheduled by another worker: keep its
            // trigger, and so its next fire time and misfires, unless the schedule itself changed.
            var signature = $"{task.Schedule} {task.Schedule.Misfire}";
            if (await scheduler.GetJobDetail(key, cancellationToken) is { } existing
                && existing.JobDataMap.GetString(SignatureKey) == signature
                && await scheduler.GetTrigger(new TriggerKey(task.Name, Group), cancellationToken) is not null)
            {
                continue;
            }
            var job = JobBuilder.Create<ScheduledTaskJob>()
                .WithIdentity(key)
                .UsingJobData(ScheduledTaskJob.TaskKey, task.Name)
                .UsingJobData(SignatureKey, signature)
                .Build();
            var trigger = Trigger(task.Name, task.Schedule, now);
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true }, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The Quartz trigger of a schedule: a simple trigger for <c>every</c>, a cron trigger for <c>crontab</c>.</summary>
    internal static ITrigger Trigger(string task, TaskSchedule schedule, DateTimeOffset now)
    {
        var builder = TriggerBuilder.Create().WithIdentity(task, Group);
        return schedule switch
        {
            EverySchedule every => builder
                .StartAt(every.FirstFire(now))
                .WithSimpleSchedule(s => s.WithInterval(every.Interval).RepeatForever().WithMisfireInstruction(
                    every.Misfire == MisfirePolicy.Skip ? SimpleTriggerMisfireInstruction.NextWithRemainingCount : SimpleTriggerMisfireInstruction.NowWithRemainingCount))
                .Build(),
            CronSchedule cron => builder
                .StartAt(now)
                .WithCronSchedule(cron.Expression, s => s.InTimeZone(cron.TimeZone).WithMisfireInstruction(
                    cron.Misfire == MisfirePolicy.Skip ? CronTriggerMisfireInstruction.DoNothing : CronTriggerMisfireInstruction.FireAndProceed))
                .Build(),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "unknown schedule"),
        };
    }
}
