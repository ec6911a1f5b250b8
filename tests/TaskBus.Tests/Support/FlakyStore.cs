using TaskBus.Contracts;
using TaskBus.Storage;

namespace TaskBus.Tests.Support;

/// <summary>A memory store that can be taken away: while <see cref="Down"/>, every call fails as an unreachable server's would.</summary>
internal sealed class FlakyStore : ITaskStore
{
    private readonly MemoryTaskStore _inner = new();
    private readonly TaskCompletionSource _refused = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public bool Down { get; set; }

    /// <summary>The next call is carried out, then its answer is lost, as when the connection drops after a commit.</summary>
    public bool LoseNextAnswer { get; set; }

    /// <summary>Calls refused while down.</summary>
    public int Refused => Volatile.Read(ref _calls);

    /// <summary>Completes when the first call is refused.</summary>
    public Task FirstRefusal => _refused.Task;

    public bool IsUnreachable(Exception exception) => exception is StoreDownException;

    public Task InitializeAsync(CancellationToken cancellationToken) => Call(() => _inner.InitializeAsync(cancellationToken));

    public Task UpsertRunsAsync(IReadOnlyList<TaskRunEvent> runs, CancellationToken cancellationToken) => Call(() => _inner.UpsertRunsAsync(runs, cancellationToken));

    public Task<TaskRunEvent?> GetRunAsync(string id, CancellationToken cancellationToken) => Call(() => _inner.GetRunAsync(id, cancellationToken));

    public Task<TaskRunPage> QueryRunsAsync(TaskRunQuery query, CancellationToken cancellationToken) => Call(() => _inner.QueryRunsAsync(query, cancellationToken));

    public ValueTask<StoredTask> GetTaskAsync(string name, CancellationToken cancellationToken) =>
        new(Call(() => _inner.GetTaskAsync(name, cancellationToken).AsTask()));

    public Task SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) => Call(() => _inner.SetEnabledAsync(name, enabled, cancellationToken));

    public Task<bool> TryClaimAsync(string runId, CancellationToken cancellationToken) => Call(() => _inner.TryClaimAsync(runId, cancellationToken));

    public Task<bool> TryAcquireSlotAsync(string task, string runId, int max, TimeSpan lease, CancellationToken cancellationToken) =>
        Call(() => _inner.TryAcquireSlotAsync(task, runId, max, lease, cancellationToken));

    public Task ReleaseSlotAsync(string task, string runId, CancellationToken cancellationToken) => Call(() => _inner.ReleaseSlotAsync(task, runId, cancellationToken));

    public Task PruneAsync(DateTimeOffset before, CancellationToken cancellationToken) => Call(() => _inner.PruneAsync(before, cancellationToken));

    public Task<IAsyncDisposable> LockAsync(string name, CancellationToken cancellationToken) => Call(() => _inner.LockAsync(name, cancellationToken));

    public Task HeartbeatAsync(WorkerStatus worker, CancellationToken cancellationToken) => Call(() => _inner.HeartbeatAsync(worker, cancellationToken));

    public Task<IReadOnlyList<WorkerStatus>> GetWorkersAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        Call(() => _inner.GetWorkersAsync(since, cancellationToken));

    public Task<bool> RequestCancelAsync(string runId, string reason, CancellationToken cancellationToken) =>
        Call(() => _inner.RequestCancelAsync(runId, reason, cancellationToken));

    public Task<(IReadOnlyList<RunCancel> Cancels, long Cursor)> GetCancelsAsync(long? after, CancellationToken cancellationToken) =>
        Call(() => _inner.GetCancelsAsync(after, cancellationToken));

    public Task<IReadOnlyDictionary<string, RunStanding>> GetStandingsAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken) =>
        Call(() => _inner.GetStandingsAsync(runIds, cancellationToken));

    public Task<string?> TryHoldKeyAsync(string task, string key, string runId, TimeSpan unstoredAfter, CancellationToken cancellationToken) =>
        Call(() => _inner.TryHoldKeyAsync(task, key, runId, unstoredAfter, cancellationToken));

    public Task<int> PruneRunsAsync(DateTimeOffset endedBefore, DateTimeOffset failedBefore, int batch, CancellationToken cancellationToken) =>
        Call(() => _inner.PruneRunsAsync(endedBefore, failedBefore, batch, cancellationToken));

    public Task<IReadOnlyList<(DateTimeOffset Minute, TaskState State, int Count)>> CountEndedPerMinuteAsync(DateTimeOffset from, CancellationToken cancellationToken) =>
        Call(() => _inner.CountEndedPerMinuteAsync(from, cancellationToken));

    public Task<HistorySize> GetHistorySizeAsync(CancellationToken cancellationToken) => Call(() => _inner.GetHistorySizeAsync(cancellationToken));

    public Task AddDelayedAsync(DelayedRun run, CancellationToken cancellationToken) => Call(() => _inner.AddDelayedAsync(run, cancellationToken));

    public Task<int> SendDueAsync(
        DateTimeOffset now, string queue, IReadOnlyCollection<string> tasks, int batch, Func<IReadOnlyList<DelayedRun>, Task<IReadOnlyCollection<string>>> send,
        CancellationToken cancellationToken) =>
        Call(() => _inner.SendDueAsync(now, queue, tasks, batch, send, cancellationToken));

    public Task<bool> RemoveDelayedAsync(string runId, CancellationToken cancellationToken) => Call(() => _inner.RemoveDelayedAsync(runId, cancellationToken));

    public Task<IReadOnlyList<DelayedRun>> ListDelayedAsync(string queue, int limit, CancellationToken cancellationToken) =>
        Call(() => _inner.ListDelayedAsync(queue, limit, cancellationToken));

    public Task<bool> IsPausedAsync(string group, CancellationToken cancellationToken) => Call(() => _inner.IsPausedAsync(group, cancellationToken));

    public Task SetPausedAsync(string group, bool paused, CancellationToken cancellationToken) => Call(() => _inner.SetPausedAsync(group, paused, cancellationToken));

    private Task<T> Call<T>(Func<Task<T>> call)
    {
        if (LoseNextAnswer)
        {
            LoseNextAnswer = false;
            return LoseAnswerAsync(call);
        }
        if (!Down)
            return call();
        Interlocked.Increment(ref _calls);
        _refused.TrySetResult();
        return Task.FromException<T>(new StoreDownException());
    }

    private Task Call(Func<Task> call)
    {
        if (!Down)
            return call();
        Interlocked.Increment(ref _calls);
        _refused.TrySetResult();
        return Task.FromException(new StoreDownException());
    }

    private static async Task<T> LoseAnswerAsync<T>(Func<Task<T>> call)
    {
        await call();
        throw new StoreDownException();
    }

    internal sealed class StoreDownException() : Exception("the store is down (test)");
}
