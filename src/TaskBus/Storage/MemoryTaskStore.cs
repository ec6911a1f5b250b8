using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.Storage;

/// <summary>
/// The store of one process, in memory: it keeps the most recent <see cref="Capacity"/> runs, each task's
/// enabled flag and last run, and tick claims and workers until <see cref="PruneAsync"/> forgets them.
/// </summary>
internal sealed class MemoryTaskStore : ITaskStore, IDisposable
{
    private readonly Queue<string> _order = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TaskRunEvent> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StoredTask> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _claims = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkerStatus> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, DateTimeOffset>> _slots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Seq, string Reason, DateTimeOffset At)> _cancels = new(StringComparer.Ordinal);
    private readonly List<RunCancel> _cancelOrder = [];
    private readonly Dictionary<(string Task, string Key), (string RunId, DateTimeOffset Held)> _keys = [];
    private readonly HashSet<string> _paused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DelayedRun> _delayed = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly TimeProvider _time = TimeProvider.System;
    private long _cancelSeq;

    /// <summary>Creates the store.</summary>
    /// <param name="capacity">Runs kept; the oldest stored is dropped beyond it. Defaults to 10,000.</param>
    public MemoryTaskStore(int capacity = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public void Dispose() => _sending.Dispose();

    /// <summary>How many runs the store keeps.</summary>
    public int Capacity { get; }

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task UpsertRunsAsync(IReadOnlyList<TaskRunEvent> runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        lock (_lock)
        {
            foreach (var run in runs)
            {
                if (_runs.TryGetValue(run.Id, out var stored) && !RunCursor.Supersedes(run, stored))
                    continue;
                _runs[run.Id] = stored is null ? run : run with
                {
                    Queued = run.Queued ?? stored.Queued,
                    Due = run.Due ?? stored.Due,
                    Progress = run.Progress ?? stored.Progress,
                    ProgressMessage = run.ProgressMessage ?? stored.ProgressMessage,
                    Queue = run.Queue.Length == 0 ? stored.Queue : run.Queue,
                };
                if (stored is null)
                {
                    _order.Enqueue(run.Id);
                    if (_order.Count > Capacity)
                        _runs.Remove(_order.Dequeue());
                }
                if (run.State.IsFinished())
                {
                    var task = Status(run.Task);
                    if (task.LastRunEnd is null || run.End >= task.LastRunEnd)
                        _tasks[run.Task] = task with { LastRunEnd = run.End, LastRunDurationMs = run.DurationMs, LastRunState = run.State };
                }
            }
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<TaskRunEvent?> GetRunAsync(string id, CancellationToken cancellationToken)
    {
        lock (_lock)
            return Task.FromResult(_runs.GetValueOrDefault(id));
    }

    /// <inheritdoc />
    public Task<TaskRunPage> QueryRunsAsync(TaskRunQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var after = query.Cursor is null ? ((long, string)?)null : RunCursor.Decode(query.Cursor);
        List<TaskRunEvent> page;
        lock (_lock)
        {
            page = [.. _runs.Values
                .Where(r => query.Task is null || r.Task == query.Task)
                .Where(r => query.Tasks is null || query.Tasks.Contains(r.Task))
                .Where(r => query.Params is not { } pattern || (r.Params is { } stored && JsonContainment.Contains(stored, pattern)))
                .Where(r => query.State is null || r.State == query.State)
                .Where(r => query.Queue is null || r.Queue.Length == 0 || r.Queue == query.Queue)
                .Where(r => query.From is null || r.Queued >= query.From)
                .Where(r => query.To is null || r.Queued < query.To)
                .Select(r => (Run: r, Ticks: (r.Queued ?? DateTimeOffset.MinValue).UtcTicks))
                .Where(x => after is not { } c || x.Ticks < c.Item1 || (x.Ticks == c.Item1 && string.CompareOrdinal(x.Run.Id, c.Item2) < 0))
                .OrderByDescending(x => x.Ticks)
                .ThenByDescending(x => x.Run.Id, StringComparer.Ordinal)
                .Take(query.Limit + 1)
                .Select(x => x.Run)];
        }
        var more = page.Count > query.Limit;
        if (more)
            page.RemoveAt(page.Count - 1);
        return Task.FromResult(new TaskRunPage(page, more ? RunCursor.Encode(page[^1]) : null));
    }

    /// <inheritdoc />
    public ValueTask<StoredTask> GetTaskAsync(string name, CancellationToken cancellationToken)
    {
        lock (_lock)
            return ValueTask.FromResult(Status(name));
    }

    /// <inheritdoc />
    public Task SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken)
    {
        lock (_lock)
            _tasks[name] = Status(name) with { Enabled = enabled };
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> TryClaimAsync(string runId, CancellationToken cancellationToken)
    {
        lock (_lock)
            return Task.FromResult(_claims.TryAdd(runId, _time.GetUtcNow()));
    }

    /// <inheritdoc />
    public Task<bool> TryAcquireSlotAsync(string task, string runId, int max, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_slots.TryGetValue(task, out var held))
                _slots[task] = held = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            foreach (var expired in held.Where(h => h.Value < now).Select(h => h.Key).ToList())
                held.Remove(expired);
            if (!held.ContainsKey(runId) && held.Count >= max)
                return Task.FromResult(false);
            held[runId] = now + lease;
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task ReleaseSlotAsync(string task, string runId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_slots.TryGetValue(task, out var held))
                held.Remove(runId);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var id in _claims.Where(c => c.Value < before).Select(c => c.Key).ToList())
                _claims.Remove(id);
            foreach (var id in _workers.Where(w => w.Value.LastHeartbeat < before).Select(w => w.Key).ToList())
                _workers.Remove(id);
            foreach (var id in _cancels.Where(c => c.Value.At < before).Select(c => c.Key).ToList())
                _cancels.Remove(id);
            _cancelOrder.RemoveAll(c => !_cancels.TryGetValue(c.RunId, out var kept) || kept.Seq != c.Seq);
            foreach (var key in _keys.Where(k => Ended(k.Value.RunId)).Select(k => k.Key).ToList())
                _keys.Remove(key);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> RequestCancelAsync(string runId, string reason, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_cancels.ContainsKey(runId))
                return Task.FromResult(false);
            var seq = ++_cancelSeq;
            _cancels[runId] = (seq, reason, _time.GetUtcNow());
            _cancelOrder.Add(new RunCancel(seq, runId, reason));
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<(IReadOnlyList<RunCancel> Cancels, long Cursor)> GetCancelsAsync(long? after, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (after is not { } from)
                return Task.FromResult<(IReadOnlyList<RunCancel>, long)>(([], _cancelSeq));
            return Task.FromResult<(IReadOnlyList<RunCancel>, long)>(([.. _cancelOrder.Where(c => c.Seq > from)], _cancelSeq));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, RunStanding>> GetStandingsAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var standings = new Dictionary<string, RunStanding>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var id in runIds)
            {
                var ended = _runs.TryGetValue(id, out var run) && run.State.IsFinished() && run.State != TaskState.Interrupted;
                var cancelled = _cancels.TryGetValue(id, out var cancel);
                if (ended || cancelled)
                    standings[id] = ended ? new RunStanding(run!.State, run.RetryAttempt, cancelled ? cancel.Reason : null) : new RunStanding(null, 0, cancel.Reason);
            }
        }
        return Task.FromResult<IReadOnlyDictionary<string, RunStanding>>(standings);
    }

    /// <inheritdoc />
    public Task<string?> TryHoldKeyAsync(string task, string key, string runId, TimeSpan unstoredAfter, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_keys.TryGetValue((task, key), out var holder) && holder.RunId != runId && !Ended(holder.RunId)
                && (_runs.ContainsKey(holder.RunId) || holder.Held > now - unstoredAfter))
            {
                return Task.FromResult<string?>(holder.RunId);
            }
            _keys[(task, key)] = (runId, now);
            return Task.FromResult<string?>(null);
        }
    }

    /// <inheritdoc />
    public Task<int> PruneRunsAsync(DateTimeOffset endedBefore, DateTimeOffset failedBefore, int batch, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var gone = _runs.Values
                .Where(r => r.State.IsFinished() && r.State != TaskState.Interrupted && r.End < (r.State == TaskState.Failure ? failedBefore : endedBefore))
                .Take(batch)
                .Select(r => r.Id)
                .ToList();
            foreach (var id in gone)
                _runs.Remove(id);
            if (gone.Count > 0)
            {
                var left = _order.Where(_runs.ContainsKey).ToList();
                _order.Clear();
                foreach (var id in left)
                    _order.Enqueue(id);
            }
            return Task.FromResult(gone.Count);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<(DateTimeOffset Minute, TaskState State, int Count)>> CountEndedPerMinuteAsync(DateTimeOffset from, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<(DateTimeOffset, TaskState, int)>>([.. _runs.Values
                .Where(r => r.State.IsFinished() && r.State != TaskState.Interrupted && r.End >= from)
                .GroupBy(r => (Minute: new DateTimeOffset(r.End!.Value.UtcTicks - (r.End.Value.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero), r.State))
                .OrderBy(g => g.Key.Minute)
                .Select(g => (g.Key.Minute, g.Key.State, g.Count()))]);
        }
    }

    /// <inheritdoc />
    public Task<HistorySize> GetHistorySizeAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
            return Task.FromResult(new HistorySize(_runs.Count, _runs.Count == 0 ? null : _runs.Values.Min(r => r.Queued)));
    }

    /// <inheritdoc />
    public Task AddDelayedAsync(DelayedRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        lock (_lock)
            _delayed[run.RunId] = run;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<int> SendDueAsync(
        DateTimeOffset now, string queue, IReadOnlyCollection<string> tasks, int batch, Func<IReadOnlyList<DelayedRun>, Task<IReadOnlyCollection<string>>> send,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        // One sender at a time, as PostgreSQL's row locks make it: a run is never sent twice.
        await _sending.WaitAsync(cancellationToken);
        try
        {
            List<DelayedRun> due;
            lock (_lock)
                due = [.. _delayed.Values.Where(d => d.Due <= now && d.Queue == queue && tasks.Contains(d.Task)).OrderBy(d => d.Due).Take(batch)];
            if (due.Count == 0)
                return 0;
            var sent = await send(due);
            lock (_lock)
            {
                foreach (var id in sent)
                    _delayed.Remove(id);
            }
            return sent.Count;
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <inheritdoc />
    public async Task<bool> RemoveDelayedAsync(string runId, CancellationToken cancellationToken)
    {
        // Not while it is being sent: the answer says whether it was.
        await _sending.WaitAsync(cancellationToken);
        try
        {
            lock (_lock)
                return _delayed.Remove(runId);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DelayedRun>> ListDelayedAsync(string queue, int limit, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<DelayedRun>>(
                [.. _delayed.Values.Where(d => d.Queue == queue).OrderBy(d => d.Due).ThenBy(d => d.RunId, StringComparer.Ordinal).Take(limit)]);
        }
    }

    /// <inheritdoc />
    public Task<bool> IsPausedAsync(string group, CancellationToken cancellationToken)
    {
        lock (_lock)
            return Task.FromResult(_paused.Contains(group));
    }

    /// <inheritdoc />
    public Task SetPausedAsync(string group, bool paused, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (paused)
                _paused.Add(group);
            else
                _paused.Remove(group);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public bool IsUnreachable(Exception exception) => false;

    /// <inheritdoc />
    public async Task<IAsyncDisposable> LockAsync(string name, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate;
        lock (_lock)
        {
            if (!_locks.TryGetValue(name, out gate!))
                _locks[name] = gate = new SemaphoreSlim(1, 1);
        }
        await gate.WaitAsync(cancellationToken);
        return new Held(gate);
    }

    /// <inheritdoc />
    public Task HeartbeatAsync(WorkerStatus worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worker);
        lock (_lock)
            _workers[worker.Id] = worker;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<WorkerStatus>> GetWorkersAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        lock (_lock)
            return Task.FromResult<IReadOnlyList<WorkerStatus>>([.. _workers.Values.Where(w => w.LastHeartbeat >= since).OrderBy(w => w.Id, StringComparer.Ordinal)]);
    }

    private bool Ended(string runId) => _runs.TryGetValue(runId, out var run) && run.State.IsFinished() && run.State != TaskState.Interrupted;

    // A task never stored reads as enabled with no last run; the default is kept so reads do not allocate.
    private StoredTask Status(string name)
    {
        if (!_tasks.TryGetValue(name, out var task))
            _tasks[name] = task = new StoredTask { Name = name };
        return task;
    }

    private sealed class Held(SemaphoreSlim gate) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                gate.Release();
            return ValueTask.CompletedTask;
        }
    }
}
