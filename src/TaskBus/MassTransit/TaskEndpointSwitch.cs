using MassTransit;
using TaskBus.Consuming;

namespace TaskBus.MassTransit;

/// <summary>The worker group's receive endpoint, seen once it is ready, stopped and started for a pause (as MassTransit's kill switch does).</summary>
internal sealed class TaskEndpointSwitch : IReceiveEndpointObserver, IRunIntakeSwitch
{
    private readonly TaskCompletionSource<IReceiveEndpoint> _endpoint = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Ready(ReceiveEndpointReady ready)
    {
        _endpoint.TrySetResult(ready.ReceiveEndpoint);
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken) =>
        await (await _endpoint.Task.WaitAsync(cancellationToken)).Stop(cancellationToken);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var handle = (await _endpoint.Task.WaitAsync(cancellationToken)).Start(cancellationToken);
        await handle.Ready.WaitAsync(cancellationToken);
    }
}
