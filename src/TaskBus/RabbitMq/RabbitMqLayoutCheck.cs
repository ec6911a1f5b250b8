using Microsoft.Extensions.Hosting;

namespace TaskBus.RabbitMq;

/// <summary>
/// A worker's first step on RabbitMQ, before its bus declares its receive endpoints: the group's layout on the broker
/// is this worker's (else it refuses to start, naming the setting), and is declared.
/// </summary>
internal sealed class RabbitMqLayoutCheck(RabbitMqTopology topology) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => topology.DeclareAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
