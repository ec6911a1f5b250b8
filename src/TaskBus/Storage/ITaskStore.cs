using TaskBus.Contracts;

namespace TaskBus.Storage;

/// <summary>
/// Task info and run history shared by every worker: <see cref="MemoryTaskStore"/> for one process,
/// <c>PostgresTaskStore</c> for many. Runs are stored as <see cref="TaskRunEvent"/>s, upserted
/// by id on every state change; a change never moves a stored run back (an older event that arrives
/// late is ignored).
/// </summary>
internal interface ITaskStore
{
    /// <summary>Creates or upgrades what the store needs (tables), idempotently.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Upserts runs by id, in order; finished runs also update their task's last run.</summary>
    Task UpsertRunsAsync(IReadOnlyList<TaskRunEvent> runs, CancellationToken cancellationToken);

    /// <summary>One stored run, or null.</summary>
    Task<TaskRunEvent?> GetRunAsync(string id, CancellationToken cancellationToken);

    /// <summary>Stored runs, newest queued first, one page at a time.</summary>
    Task<TaskRunPage> QueryRunsAsync(TaskRunQuery query, CancellationToken cancellationToken);

    /// <summary>What the store keeps of a task: enabled, last run. A task never stored is enabled with no last run.</summary>
    ValueTask<StoredTask> GetTaskAsync(string name, CancellationToken cancellationToken);

    /// <summary>Enables or disables a task for every worker that shares this store.</summary>
    Task SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken);

    /// <summary>
    /// Claims a run id once: true for the first caller, false for every later one. Scheduled runs,
    /// whose ids come from task and fire time, use it so that a tick fired twice runs once.
    /// </summary>
    Task<bool> TryClaimAsync(string runId, CancellationToken cancellationToken);

    /// <summary>
    /// Takes one of a task's <paramref name="max"/> run slots for a run, for every worker sharing the store;
    /// false when all are taken. A slot not released within <paramref name="lease"/> (its worker died) is free again.
    /// </summary>
    Task<bool> TryAcquireSlotAsync(string task, string runId, int max, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Gives a run's slot back.</summary>
    Task ReleaseSlotAsync(string task, string runId, CancellationToken cancellationToken);

    /// <summary>
    /// Forgets what only matters for a while: tick claims and cancels made before <paramref name="before"/>, workers
    /// last heard from before it, and the unique keys of runs that have ended.
    /// </summary>
    Task PruneAsync(DateTimeOffset before, CancellationToken cancellationToken);

    /// <summary>
    /// Takes a lock by name for every process that shares the store, waiting while another holds it; dispose
    /// the result to release it.
    /// </summary>
    Task<IAsyncDisposable> LockAsync(string name, CancellationToken cancellationToken);

    /// <summary>Records a worker's heartbeat.</summary>
    Task HeartbeatAsync(WorkerStatus worker, CancellationToken cancellationToken);

    /// <summary>
    /// True when <paramref name="exception"/>, thrown by this store, says the store cannot be reached now (server
    /// down, connection lost, restarting) rather than that the request itself is wrong: the request may be tried again.
    /// </summary>
    bool IsUnreachable(Exception exception);

    /// <summary>
    /// True when <paramref name="exception"/>, thrown by this store, says the store refuses this process for good (a
    /// wrong password, a role without access, a database that does not exist): trying again cannot help.
    /// </summary>
    bool IsRefused(Exception exception) => false;

    /// <summary>
    /// Records that a run is cancelled, for every worker that shares the store: a worker about to start it drops it,
    /// one running it stops it. True when this is the run's first cancel; a later one keeps the first reason.
    /// </summary>
    Task<bool> RequestCancelAsync(string runId, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// The cancels recorded after <paramref name="after"/> (a <see cref="RunCancel.Seq"/>), oldest first, and possibly some
    /// seen before (the last seconds are read again: a number may commit after a greater one); with null, none, only the
    /// cursor to start from. Returns the cancels and the cursor for the next call.
    /// </summary>
    Task<(IReadOnlyList<RunCancel> Cancels, long Cursor)> GetCancelsAsync(long? after, CancellationToken cancellationToken);

    /// <summary>
    /// What the store says of runs about to start, in one round trip for many: only the runs with a final state stored
    /// (not <c>interrupted</c>) or a cancel recorded are in the answer.
    /// </summary>
    Task<IReadOnlyDictionary<string, RunStanding>> GetStandingsAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken);

    /// <summary>
    /// Takes a task's unique key for a run, for every process that shares the store (the store enforces it, not a
    /// read then a write): null when <paramref name="runId"/> holds it now, else the run that holds it. A key whose run
    /// has ended (a final state stored, not <c>interrupted</c>), or whose run was never stored within
    /// <paramref name="unstoredAfter"/>, is taken over.
    /// </summary>
    Task<string?> TryHoldKeyAsync(string task, string key, string runId, TimeSpan unstoredAfter, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes at most <paramref name="batch"/> runs that have ended (not <c>interrupted</c>): those ended <c>failure</c>
    /// before <paramref name="failedBefore"/>, the others before <paramref name="endedBefore"/>; rows a writer holds are
    /// skipped, never waited for. Returns how many were deleted: fewer than the batch means none is left.
    /// </summary>
    Task<int> PruneRunsAsync(DateTimeOffset endedBefore, DateTimeOffset failedBefore, int batch, CancellationToken cancellationToken);

    /// <summary>Runs that ended at or after <paramref name="from"/>, counted per minute of their end and final state, oldest minute first.</summary>
    Task<IReadOnlyList<(DateTimeOffset Minute, TaskState State, int Count)>> CountEndedPerMinuteAsync(DateTimeOffset from, CancellationToken cancellationToken);

    /// <summary>How much history the store holds: runs (an estimate where counting would cost), and the oldest queued.</summary>
    Task<HistorySize> GetHistorySizeAsync(CancellationToken cancellationToken);

    /// <summary>Holds a delayed run until it is due (durably with PostgreSQL: every worker and the queuer may restart meanwhile).</summary>
    Task AddDelayedAsync(DelayedRun run, CancellationToken cancellationToken);

    /// <summary>
    /// Takes up to <paramref name="batch"/> delayed runs of worker group <paramref name="queue"/> and of
    /// <paramref name="tasks"/> due at <paramref name="now"/>, earliest first, and hands them to <paramref name="send"/>,
    /// which answers the ids of those the broker took: those leave the store, the others stay for the next call (with
    /// PostgreSQL, rows another process is sending are skipped, never sent twice). Returns how many left.
    /// </summary>
    Task<int> SendDueAsync(
        DateTimeOffset now, string queue, IReadOnlyCollection<string> tasks, int batch, Func<IReadOnlyList<DelayedRun>, Task<IReadOnlyCollection<string>>> send,
        CancellationToken cancellationToken);

    /// <summary>
    /// Removes a delayed run not sent yet (a cancel); false when it is not held (sent, never delayed) or is being sent
    /// right now (then the worker that receives it finds it cancelled).
    /// </summary>
    Task<bool> RemoveDelayedAsync(string runId, CancellationToken cancellationToken);

    /// <summary>The delayed runs held for worker group <paramref name="queue"/>, earliest due first.</summary>
    Task<IReadOnlyList<DelayedRun>> ListDelayedAsync(string queue, int limit, CancellationToken cancellationToken);

    /// <summary>True while the worker group of queue <paramref name="group"/> is paused: its workers take no runs.</summary>
    Task<bool> IsPausedAsync(string group, CancellationToken cancellationToken);

    /// <summary>Pauses (or resumes) the worker group of queue <paramref name="group"/>, for every worker that shares the store.</summary>
    Task SetPausedAsync(string group, bool paused, CancellationToken cancellationToken);

    /// <summary>Workers whose last heartbeat is at or after <paramref name="since"/>.</summary>
    Task<IReadOnlyList<WorkerStatus>> GetWorkersAsync(DateTimeOffset since, CancellationToken cancellationToken);
}
