using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus.Execution;

/// <summary>
/// The run being executed, for a task that needs it (to abort, to read its attempt number, to lock).
/// Inject it into the task's constructor: it is scoped to the run.
/// </summary>
public sealed class TaskRunContext
{
    private readonly TaskRegistry _registry;
    private readonly IRunQueue _queue;
    private readonly ITaskStore _store;
    private readonly TimeProvider _time;
    // Every run gets a context; only runs that lock need the list.
    private readonly Lock _gate = new();
    private List<IAsyncDisposable>? _locks;
    private TaskRun? _run;

    internal TaskRunContext(TaskRegistry registry, IRunQueue queue, ITaskStore store, TimeProvider time, RunLifecycle? lifecycle = null)
    {
        _registry = registry;
        _queue = queue;
        _store = store;
        _time = time;
        _lifecycle = lifecycle;
    }

    /// <summary>Reports fewer than this apart are folded into the next one: at most one a second per run.</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);

    private readonly RunLifecycle? _lifecycle;
    private long _lastReport = long.MinValue;
    private (double Fraction, string? Message)? _pendingReport;
    private bool _reportScheduled;

    /// <summary>The current run.</summary>
    /// <exception cref="InvalidOperationException">Read outside a run.</exception>
    public TaskRun Run
    {
        get => _run ?? throw new InvalidOperationException("No task run is being executed in this scope.");
        internal set => _run = value;
    }

    /// <summary>Aborts the current run: it ends <c>aborted</c> with the reason and is never retried.</summary>
    public void Abort(string reason) => Run.Abort(reason);

    /// <summary>
    /// Reports how far the run has got: <paramref name="fraction"/> from 0 to 1 and what it is doing. Not a state change:
    /// the <c>running</c> handlers do not fire again; the report is kept with the run in the store and published as a
    /// <see cref="TaskRunProgress"/> (the dashboard draws it as a bar). At most one report a second per run is sent: one
    /// made sooner is held and sent when the second is up (only the latest), unless the run has ended by then.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not between 0 and 1.</exception>
    public Task ReportProgressAsync(double fraction, string? message = null, CancellationToken cancellationToken = default)
    {
        if (!(fraction >= 0 && fraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "progress is a fraction from 0 to 1");
        var run = Run;
        if (_lifecycle is null || run.IsDone)
            return Task.CompletedTask;
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (_lastReport != long.MinValue && _time.GetElapsedTime(_lastReport, now) < ProgressInterval)
            {
                _pendingReport = (fraction, message);
                if (!_reportScheduled)
                {
                    _reportScheduled = true;
                    _ = SendHeldAsync(run, ProgressInterval - _time.GetElapsedTime(_lastReport, now));
                }
                return Task.CompletedTask;
            }
            _lastReport = now;
        }
        _lifecycle.Progress(run, fraction, message);
        return Task.CompletedTask;
    }

    private async Task SendHeldAsync(TaskRun run, TimeSpan wait)
    {
        await Task.Delay(wait, _time);
        (double Fraction, string? Message)? held;
        lock (_gate)
        {
            (held, _pendingReport, _reportScheduled) = (_pendingReport, null, false);
            _lastReport = _time.GetTimestamp();
        }
        if (held is { } report && !run.IsDone)
            _lifecycle!.Progress(run, report.Fraction, report.Message);
    }

    /// <summary>
    /// Queues a run of another task from this one (aio-fluid's <c>run.queue</c>): the child's
    /// <c>fromRunId</c> is this run, its <c>rootRunId</c> this run's root (or this run if it has none).
    /// </summary>
    public Task<TaskRun> QueueAsync(string task, object? parameters = null, TaskPriority? priority = null, CancellationToken cancellationToken = default)
    {
        var child = RunFactory.New(_registry.Get(task), parameters, Guid.NewGuid(), priority, parent: Run);
        return _queue.QueueAsync(child, cancellationToken);
    }

    /// <summary>
    /// Takes the lock <c>tasks:{task}</c>, or <c>tasks:{task}:{name}</c>, for every worker that shares the store
    /// (aio-fluid's <c>run.lock</c>): a PostgreSQL advisory lock with the PostgreSQL store, a lock in this process
    /// with the memory store. Waits while another run holds it, at most <paramref name="timeout"/> (30 s by
    /// default). Dispose the result to release it early; whatever this run still holds is released when the run
    /// ends, however it ends (a worker that dies releases it with its database session).
    /// </summary>
    /// <exception cref="TimeoutException">The lock was not free within <paramref name="timeout"/>.</exception>
    public async Task<IAsyncDisposable> LockAsync(string? name = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var key = string.IsNullOrEmpty(name) ? $"tasks:{Run.Task}" : $"tasks:{Run.Task}:{name}";
        var wait = timeout ?? TimeSpan.FromSeconds(30);
        using var waited = new CancellationTokenSource(wait, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, waited.Token);
        IAsyncDisposable held;
        try
        {
            held = await _store.LockAsync(key, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"lock {key} was not free within {wait.TotalSeconds:0.###} s");
        }
        catch (Exception ex) when (ex is not OperationCanceledException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Npgsql reports a cancelled statement as its own exception.
            throw new TimeoutException($"lock {key} was not free within {wait.TotalSeconds:0.###} s", ex);
        }
        var handle = new RunLock(held, this);
        lock (_gate)
            (_locks ??= []).Add(handle);
        return handle;
    }

    /// <summary>Releases every lock the run still holds; called when the run ends.</summary>
    internal async Task ReleaseLocksAsync()
    {
        IAsyncDisposable[] held;
        lock (_gate)
        {
            if (_locks is not { Count: > 0 })
                return;
            held = [.. _locks];
            _locks.Clear();
        }
        foreach (var handle in held)
            await handle.DisposeAsync();
    }

    /// <summary>A held lock, released once, by its holder or at the end of the run.</summary>
    private sealed class RunLock(IAsyncDisposable inner, TaskRunContext context) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1)
                return ValueTask.CompletedTask;
            lock (context._gate)
                context._locks?.Remove(this);
            return inner.DisposeAsync();
        }
    }
}
