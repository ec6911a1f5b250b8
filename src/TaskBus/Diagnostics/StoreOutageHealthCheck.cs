using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskBus.Storage;

namespace TaskBus.Diagnostics;

/// <summary>Not ready while this process cannot reach its store: since when, and how many runs wait for it.</summary>
internal sealed class StoreOutageHealthCheck(StoreOutage outage) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(outage.Since is { } since
            ? HealthCheckResult.Unhealthy($"the task store cannot be reached since {since:O}; {outage.RunsWaiting} runs wait for it")
            : HealthCheckResult.Healthy("the task store answers"));
}
