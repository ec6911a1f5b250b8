using MassTransit;
using TaskBus.Contracts;
using TaskBus.RabbitMq;

namespace TaskBus.IntegrationTests.Support;

/// <summary>
/// A monitoring service in miniature: a plain MassTransit bus (no TaskBus) that subscribes to
/// <see cref="TaskRunEvent"/> through a temporary queue and lets a test wait for events. Given a task queue,
/// it is also a plain MassTransit publisher of task records, with README's one-line setup.
/// </summary>
public sealed class EventWatcher : IAsyncDisposable
{
    private readonly IBusControl _bus;
    private readonly List<TaskRunEvent> _events = [];
    private readonly List<(Func<TaskRunEvent, bool> Match, TaskCompletionSource<TaskRunEvent> Done)> _waiters = [];
    private readonly Lock _lock = new();

    private EventWatcher(string url, string? taskQueue, bool ordered)
    {
        _bus = global::MassTransit.Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(new Uri(url));
            if (taskQueue is not null)
                cfg.RouteTaskMessages<Contracts.Tasks.Add>(taskQueue);
            cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), null, e =>
            {
                // One at a time, so events are recorded in the order the broker delivers them; unordered, many at a time.
                e.PrefetchCount = ordered ? 1 : 200;
                e.ConcurrentMessageLimit = ordered ? 1 : 16;
                e.Handler<TaskRunEvent>(context =>
                {
                    Record(context.Message);
                    return Task.CompletedTask;
                });
            });
        });
    }

    /// <summary>The bus, also usable to publish as any MassTransit service would.</summary>
    public IBus Bus => _bus;

    /// <summary>Starts a watcher; with <paramref name="taskQueue"/> its publishes of task records go to that worker group.</summary>
    public static async Task<EventWatcher> StartAsync(RabbitMqFixture rabbit, string? taskQueue = null, string? url = null, bool ordered = true)
    {
        var watcher = new EventWatcher(url ?? rabbit.Url, taskQueue, ordered);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await watcher._bus.StartAsync(timeout.Token);
        return watcher;
    }

    public IReadOnlyList<TaskRunEvent> EventsOf(string runId)
    {
        lock (_lock)
            return [.. _events.Where(e => e.Id == runId)];
    }

    public IReadOnlyList<TaskRunEvent> Events
    {
        get
        {
            lock (_lock)
                return [.. _events];
        }
    }

    /// <summary>Waits for a matching event (also one already seen); fails after 60 s, or <paramref name="timeout"/>.</summary>
    public async Task<TaskRunEvent> WaitFor(Func<TaskRunEvent, bool> match, TimeSpan? timeout = null)
    {
        Task<TaskRunEvent> waiting;
        lock (_lock)
        {
            var seen = _events.FirstOrDefault(match);
            if (seen is not null)
                return seen;
            var done = new TaskCompletionSource<TaskRunEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            waiting = done.Task;
        }
        return await waiting.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>Waits until <paramref name="count"/> events seen match, looking at each event once.</summary>
    public Task WaitForCount(Func<TaskRunEvent, bool> match, int count, TimeSpan timeout)
    {
        var seen = 0;
        return WaitFor(e => match(e) && ++seen >= count, timeout);
    }

    public Task<TaskRunEvent> WaitForFinal(string runId) => WaitFor(e => e.Id == runId && e.State.IsFinished());

    public async ValueTask DisposeAsync() => await _bus.StopAsync();

    private void Record(TaskRunEvent evt)
    {
        lock (_lock)
        {
            _events.Add(evt);
            foreach (var waiter in _waiters.Where(w => w.Match(evt)).ToList())
            {
                waiter.Done.TrySetResult(evt);
                _waiters.Remove(waiter);
            }
        }
    }
}
