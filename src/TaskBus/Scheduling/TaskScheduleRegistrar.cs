using Microsoft.Extensions.Hosting;
using Quartz;
using TaskBus.Client;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus.Scheduling;

/// <summary>
/// Schedules one Quartz job per scheduled task when the host starts. With a shared (clustered) store every
/// scheduler does this under one store lock, so a trigger is created once and then kept, with its grid of
/// ticks, its next fire time and its misfires, until the schedule itself changes.
/// </summary>
internal sealed class TaskScheduleRegistrar(TaskManager manager, ISchedulerFactory schedulers, ITaskStore store, TimeProvider time) : IHostedService
{
    internal const string Group = "taskbus";
    private const string SignatureKey = "schedule";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        // Schedulers starting together would each replace the trigger with one starting at their own start time,
        // moving the grid and adding a tick every time.
        await using var held = await store.LockAsync($"taskbus-schedules:{manager.Options.QueueName}", cancellationToken);
        foreach (var task in manager.Registry)
        {
            var key = new JobKey(task.Name, Group);
            if (task.Schedule is null || task.Invoker is null)
            {
                await scheduler.DeleteJob(key, cancellationToken);
                continue;
            }
            // The job's own settings are part of its signature: a job stored with other settings is replaced.
            var signature = $"{task.Schedule} {task.Schedule.Misfire} recoverable";
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
                .RequestRecovery()
                .Build();
            var trigger = Trigger(task.Name, task.Schedule, time.GetUtcNow());
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true }, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The Quartz trigger of a schedule: a simple trigger for <c>every</c> (ticks at its start plus whole
    /// intervals), a cron trigger for <c>crontab</c>. Missed ticks are skipped by Quartz, which keeps the
    /// trigger on its grid; <see cref="FireOnceListener"/> adds the one run of <see cref="MisfirePolicy.FireOnce"/>.
    /// </summary>
    internal static ITrigger Trigger(string task, TaskSchedule schedule, DateTimeOffset now)
    {
        var builder = TriggerBuilder.Create().WithIdentity(task, Group);
        return schedule switch
        {
            EverySchedule every => builder
                .StartAt(every.FirstFire(now))
                .WithSimpleSchedule(s => s.WithInterval(every.Interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build(),
            CronSchedule cron => builder
                .StartAt(now)
                .WithCronSchedule(cron.Expression, s => s.InTimeZone(cron.TimeZone).WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing))
                .Build(),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "unknown schedule"),
        };
    }
}
