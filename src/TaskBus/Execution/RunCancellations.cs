namespace TaskBus.Execution;

/// <summary>
/// The runs executing in this process that a cancel can stop, by run id (two copies of one run, delivered twice, are
/// both stopped). A cancel that arrives for a run not (yet) executing here is remembered for a while, so a run that
/// starts just after its cancel arrived is stopped at once. One lock orders a cancel and a start: neither is missed.
/// </summary>
internal sealed class RunCancellations(TimeProvider time)
{
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(10);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Scope>> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Reason, DateTimeOffset At)> _early = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>Runs executing in this process now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>True while the run executes in this process.</summary>
    public bool IsExecuting(string runId)
    {
        lock (_lock)
            return _running.ContainsKey(runId);
    }

    /// <summary>A run starts executing: its scope's token is cancelled by <see cref="Cancel"/>, until the scope is disposed.</summary>
    public Scope Enter(string runId)
    {
        var scope = new Scope(this, runId);
        string? reason = null;
        lock (_lock)
        {
            if (!_running.TryGetValue(runId, out var scopes))
                _running[runId] = scopes = [];
            scopes.Add(scope);
            _count++;
            if (_early.Remove(runId, out var early))
                reason = early.Reason;
        }
        if (reason is not null)
            scope.Cancel(reason);
        return scope;
    }

    /// <summary>Stops the run if it executes here (true), else remembers the cancel for a while (false).</summary>
    public bool Cancel(string runId, string reason)
    {
        Scope[] scopes;
        lock (_lock)
        {
            if (!_running.TryGetValue(runId, out var running))
            {
                var now = time.GetUtcNow();
                _early[runId] = (reason, now);
                if (_early.Count > 1000)
                {
                    foreach (var old in _early.Where(e => e.Value.At < now - Remembered).Select(e => e.Key).ToList())
                        _early.Remove(old);
                }
                return false;
            }
            scopes = [.. running];
        }
        foreach (var scope in scopes)
            scope.Cancel(reason);
        return true;
    }

    private void Leave(Scope scope)
    {
        lock (_lock)
        {
            if (_running.TryGetValue(scope.RunId, out var scopes) && scopes.Remove(scope))
            {
                _count--;
                if (scopes.Count == 0)
                    _running.Remove(scope.RunId);
            }
        }
    }

    /// <summary>One run's cancellation while it executes.</summary>
    internal sealed class Scope(RunCancellations owner, string runId) : IDisposable
    {
        private readonly CancellationTokenSource _source = new();
        private string? _reason;

        public string RunId => runId;

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
            owner.Leave(this);
            _source.Dispose();
        }
    }
}
