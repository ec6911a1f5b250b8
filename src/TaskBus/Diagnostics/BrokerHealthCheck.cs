using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskBus.Runs;

namespace TaskBus.Diagnostics;

/// <summary>Not ready while the broker does not take messages (a resource alarm blocks publishers, or it cannot be reached), with its reason.</summary>
internal sealed class BrokerHealthCheck(IBrokerState broker) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await broker.WhyNotTakingAsync(cancellationToken) is { } why
            ? HealthCheckResult.Unhealthy(why)
            : HealthCheckResult.Healthy("the broker takes messages");
}
