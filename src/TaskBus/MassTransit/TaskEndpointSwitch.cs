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

    /// <summary>How long the slots wait for every queue: one on a node that is down does not keep the others idle.</summary>
    public static readonly TimeSpan AllReadyWait = TimeSpan.FromSeconds(10);

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
            if (_endpoints.Count == 1 && expected > 1 && slots is not null)
                _ = Task.Delay(AllReadyWait).ContinueWith(_ => slots.Open(), TaskScheduler.Default);
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
        // Runs held for a slot keep their turn: the intake, closed first, hands them back as they reach it. The slots
        // close once every endpoint stopped, so that on resume the first queue up does not take them all.
        await WhenReadyAsync(cancellationToken);
        await Task.WhenAll(Endpoints().Select(e => e.Stop(cancellationToken)));
        slots?.Close();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        await Task.WhenAll(Endpoints().Select(e => e.Start(cancellationToken).Ready.WaitAsync(cancellationToken)));
        OpenSoon();
    }

    /// <summary>Every endpoint ready, or as many as were after <see cref="AllReadyWait"/>.</summary>
    private async Task WhenReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _all.Task.WaitAsync(AllReadyWait, cancellationToken);
        }
        catch (TimeoutException)
        {
            if (Endpoints().Length == 0)
                await _all.Task.WaitAsync(cancellationToken);
        }
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
