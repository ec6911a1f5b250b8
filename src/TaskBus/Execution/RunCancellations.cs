using System.Collections.Concurrent;

namespace TaskBus.Execution;

/// <summary>
/// The runs executing in this process that a cancel can stop, by run id. A cancel that arrives for a run not (yet)
/// executing here is remembered for a while, so a run that starts just after its cancel arrived is stopped at once.
/// </summary>
internal sealed class RunCancellations(TimeProvider time)
{
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, Scope> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Reason, DateTimeOffset At)> _early = new(StringComparer.Ordinal);

    /// <summary>Runs executing in this process now.</summary>
    public int Count => _running.Count;

    /// <summary>True while the run executes in this process.</summary>
    public bool IsExecuting(string runId) => _running.ContainsKey(runId);

    /// <summary>A run starts executing: its scope's token is cancelled by <see cref="Cancel"/>, until the scope is disposed.</summary>
    public Scope Enter(string runId)
    {
        var scope = new Scope(this, runId);
        _running[runId] = scope;
        if (_early.TryRemove(runId, out var early))
            scope.Cancel(early.Reason);
        return scope;
    }

    /// <summary>Stops the run if it executes here (true), else remembers the cancel for a while (false).</summary>
    public bool Cancel(string runId, string reason)
    {
        if (_running.TryGetValue(runId, out var scope))
        {
            scope.Cancel(reason);
            return true;
        }
        var now = time.GetUtcNow();
        _early[runId] = (reason, now);
        if (_early.Count > 1000)
        {
            foreach (var old in _early.Where(e => e.Value.At < now - Remembered))
                _early.TryRemove(old);
        }
        return false;
    }

    /// <summary>One run's cancellation while it executes.</summary>
    internal sealed class Scope(RunCancellations owner, string runId) : IDisposable
    {
        private readonly CancellationTokenSource _source = new();
        private string? _reason;

        /// <summary>Cancelled by a cancel of the run.</summary>
        public CancellationToken Token => _source.Token;

        /// <summary>The reason given, once cancelled.</summary>
        public string? Reason => Volatile.Read(ref _reason);

        public bool IsCancelled => _source.IsCancellationRequested;

        public void Cancel(string reason)
        {
            if (Interlocked.CompareExchange(ref _reason, reason, null) is not null)
                return;
            try
            {
                _source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run ended meanwhile.
            }
        }

        public void Dispose()
        {
            owner._running.TryRemove(KeyValuePair.Create(runId, this));
            _source.Dispose();
        }
    }
}
