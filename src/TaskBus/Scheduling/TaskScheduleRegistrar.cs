using Microsoft.Extensions.Hosting;
using Quartz;

namespace TaskBus.Scheduling;

/// <summary>Schedules one Quartz job per scheduled task when the host starts.</summary>
internal sealed class TaskScheduleRegistrar(TaskManager manager, ISchedulerFactory schedulers) : IHostedService
{
    private const string Group = "taskbus";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var now = manager.Time.GetUtcNow();
        foreach (var task in manager.Registry)
        {
            if (task.Schedule is not EverySchedule every || task.Invoker is null)
                continue;
            var job = JobBuilder.Create<ScheduledTaskJob>()
                .WithIdentity(task.Name, Group)
                .UsingJobData(ScheduledTaskJob.TaskKey, task.Name)
                .Build();
            var trigger = TriggerBuilder.Create()
                .WithIdentity(task.Name, Group)
                .StartAt(now + every.Delay)
                .WithSimpleSchedule(s => s.WithInterval(every.Interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build();
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true }, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
