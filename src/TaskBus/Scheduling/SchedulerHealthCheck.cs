using Microsoft.Extensions.Diagnostics.HealthChecks;
using Quartz;

namespace TaskBus.Scheduling;

/// <summary>Healthy while this worker's Quartz scheduler runs (not created-only, in standby or shut down).</summary>
internal sealed class SchedulerHealthCheck(ISchedulerFactory schedulers) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var status = await scheduler.GetStatus(cancellationToken);
        return status == SchedulerStatus.Running
            ? HealthCheckResult.Healthy($"scheduler {scheduler.SchedulerName} running")
            : HealthCheckResult.Unhealthy($"scheduler {scheduler.SchedulerName} is {status}");
    }
}
