using MassTransit;
using TaskBus.Consuming;

namespace TaskBus.MassTransit;

/// <summary>
/// The worker group's receive endpoints (one per queue of the group), seen once they are ready, stopped and started
/// together for a pause (as MassTransit's kill switch does). Where runs arrive through several queues, the worker's
/// <see cref="PrioritySlots"/> open once every endpoint is first ready, and a moment more for each to hand over what waits.
/// </summary>
internal sealed class TaskEndpointSwitch(int expected = 1, PrioritySlots? slots = null) : IReceiveEndpointObserver, IRunIntakeSwitch
{
    /// <summary>How long the slots stay closed once every queue delivers, for each to hand over its first runs.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(100);

    private readonly Lock _lock = new();

    /// <summary>The worker's slots by priority, where runs arrive through several queues; else null.</summary>
    public PrioritySlots? Slots => slots;

    private readonly List<IReceiveEndpoint> _endpoints = [];
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Ready(ReceiveEndpointReady ready)
    {
        lock (_lock)
        {
            if (!_endpoints.Contains(ready.ReceiveEndpoint))
                _endpoints.Add(ready.ReceiveEndpoint);
            if (_endpoints.Count < expected || _all.Task.IsCompleted)
                return Task.CompletedTask;
        }
        _all.TrySetResult();
        OpenSoon();
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Runs held for a slot keep their turn: the intake, closed first, hands them back as they reach it.
        await _all.Task.WaitAsync(cancellationToken);
        await Task.WhenAll(Endpoints().Select(e => e.Stop(cancellationToken)));
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _all.Task.WaitAsync(cancellationToken);
        await Task.WhenAll(Endpoints().Select(e => e.Start(cancellationToken).Ready.WaitAsync(cancellationToken)));
    }

    private IReceiveEndpoint[] Endpoints()
    {
        lock (_lock)
            return [.. _endpoints];
    }

    private void OpenSoon()
    {
        if (slots is null)
            return;
        _ = Task.Delay(Settle).ContinueWith(_ => slots.Open(), TaskScheduler.Default);
    }
}
