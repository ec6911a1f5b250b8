using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TaskBus.Storage;

/// <summary>
/// Whether the store can be reached, as this process last saw it, and the waits of the runs that need it while it
/// cannot. An operation that fails because the store is unreachable (the store says which failures those are) is
/// tried again with backoff, and at once when any other operation finds the store back; it never gives up on its
/// own, only when its caller cancels. One line is logged when the store goes away and one when it is back (how long,
/// how many runs waited), not one per run or per try.
/// </summary>
internal sealed partial class StoreOutage(ITaskStore store, TimeProvider time, ILogger<StoreOutage> logger)
{
    private static readonly TimeSpan FirstWait = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, byte> _waiting = new(StringComparer.Ordinal);
    private TaskCompletionSource _back = NewSignal();
    private volatile bool _down;
    private DateTimeOffset _since;
    private long _heldBack;
    private long _reachedAt;

    /// <summary>True while the store cannot be reached.</summary>
    public bool IsDown => _down;

    /// <summary>Since when the store cannot be reached, while it cannot.</summary>
    public DateTimeOffset? Since => _down ? _since : null;

    /// <summary>The runs that waited (or wait) for the store in the current outage.</summary>
    public int RunsWaiting => _waiting.Count;

    /// <summary>Runs held back by an outage, since the process started (a run counts once per outage).</summary>
    public long RunsHeldBack => Interlocked.Read(ref _heldBack);

    /// <summary>
    /// A mark to take before a call to the store and give to <see cref="Unreachable"/> if it fails: a call that began
    /// before the store was last seen back (a connect that was timing out) does not start a new outage.
    /// </summary>
    public long Mark => Interlocked.Read(ref _reachedAt);

    /// <summary>True when <paramref name="exception"/> says the store cannot be reached (rather than a fault in the request).</summary>
    public bool IsOutage(Exception exception) => exception is not OperationCanceledException && store.IsUnreachable(exception);

    /// <summary>
    /// Runs <paramref name="operation"/> on the store; while the store cannot be reached, waits and tries again until
    /// it answers or <paramref name="cancellationToken"/> is cancelled. Other failures are thrown at once.
    /// </summary>
    /// <param name="runId">The run that waits, counted once per outage; null for work that is not a run's.</param>
    /// <param name="operation">The call to the store.</param>
    /// <param name="cancellationToken">Ends the waiting (the caller's run is taken back).</param>
    public async Task<T> RunAsync<T>(string? runId, Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var mark = Mark;
            try
            {
                var result = await operation(cancellationToken);
                Reached();
                return result;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsOutage(ex))
            {
                if (Unreachable(ex, runId, mark))
                    await WaitAsync(attempt, cancellationToken);
            }
        }
    }

    /// <inheritdoc cref="RunAsync{T}(string?, Func{CancellationToken, Task{T}}, CancellationToken)"/>
    public Task RunAsync(string? runId, Func<CancellationToken, Task> operation, CancellationToken cancellationToken) =>
        RunAsync<bool>(runId, async token =>
        {
            await operation(token);
            return true;
        }, cancellationToken);

    /// <summary>Notes that the store answered: ends an outage, with its one line.</summary>
    public void Reached()
    {
        if (!_down)
            return;
        TaskCompletionSource back;
        int runs;
        TimeSpan lasted;
        lock (_lock)
        {
            if (!_down)
                return;
            _down = false;
            Interlocked.Increment(ref _reachedAt);
            lasted = time.GetUtcNow() - _since;
            runs = _waiting.Count;
            _waiting.Clear();
            back = _back;
            _back = NewSignal();
        }
        LogBack(logger, lasted.TotalSeconds, runs);
        back.TrySetResult();
    }

    /// <summary>
    /// Notes that the store could not be reached: starts an outage (one line), and counts the run that waits. False,
    /// and nothing noted, when the store was seen back since <paramref name="mark"/> (taken before the failed call):
    /// the caller tries again at once.
    /// </summary>
    public bool Unreachable(Exception exception, string? runId = null, long? mark = null)
    {
        if (!_down)
        {
            var first = false;
            lock (_lock)
            {
                if (mark is { } before && before != Interlocked.Read(ref _reachedAt))
                    return false;
                if (!_down)
                {
                    _since = time.GetUtcNow();
                    _down = first = true;
                }
            }
            if (first)
                LogDown(logger, $"{exception.GetType().Name}: {exception.Message}");
        }
        if (runId is not null && _waiting.TryAdd(runId, 0))
            Interlocked.Increment(ref _heldBack);
        return true;
    }

    /// <summary>Waits before the next try: longer each time, up to 5 s, and no longer than until the store is seen back.</summary>
    public async Task WaitAsync(int attempt, CancellationToken cancellationToken)
    {
        Task back;
        lock (_lock)
            back = _down ? _back.Task : Task.CompletedTask;
        var wait = TimeSpan.FromTicks(Math.Min(LongestWait.Ticks, FirstWait.Ticks << Math.Min(attempt, 10)));
        await Task.WhenAny(back, Task.Delay(wait, time, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Warning,
        Message = "The task store cannot be reached ({Error}); runs that need it wait, their messages unacknowledged, until it is back")]
    private static partial void LogDown(ILogger logger, string error);

    [LoggerMessage(EventId = 1507, Level = LogLevel.Information,
        Message = "The task store is back after {Seconds:0.0} s; {Runs} runs waited for it")]
    private static partial void LogBack(ILogger logger, double seconds, int runs);
}
