using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;
using TaskBus.Events;
using TaskBus.Storage;

namespace TaskBus.Execution;

/// <summary>
/// The consume path of a run, free of any transport: a duplicate scheduler tick is dropped (no events); a disabled
/// task's run ends aborted without running; over the task's concurrency limit (a slot in the store shared by every
/// worker, then this process's count) it is re-queued per its rate-limit retry policy (a copy, no events) or ends
/// rate_limited; otherwise it runs, and a failure its retry policy matches starts a new round (same id, next attempt,
/// init and queued again) after the policy's delay. The store, dispatcher and clock are given; re-queueing is the
/// caller's (<see cref="TaskConsumer"/> sends through the broker).
/// </summary>
internal sealed partial class TaskRunProcessor(ITaskStore store, TaskRunDispatcher dispatcher, TimeProvider time, ILogger logger, CancellationToken stopping)
{
    /// <summary>
    /// A run re-queued over its task's concurrency limit waits at least this long, even with a zero
    /// wait, so a busy task is not polled in a tight loop (aio-fluid's consumers poll once a second).
    /// </summary>
    public static readonly TimeSpan MinRateLimitDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>A run's concurrency slot is held for its task's timeout plus this margin; a slot of a worker that died frees itself then.</summary>
    public static readonly TimeSpan SlotLeaseMargin = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, Counter> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<bool>>> _enabledReads = new(StringComparer.Ordinal);
    private int _numConcurrentTasks;

    /// <summary>Runs in progress.</summary>
    public int NumConcurrentTasks => Volatile.Read(ref _numConcurrentTasks);

    /// <summary>Runs of one task in progress.</summary>
    public int NumConcurrentTasksFor(string taskName) =>
        _running.TryGetValue(taskName, out var counter) ? Volatile.Read(ref counter.Value) : 0;

    /// <summary>Runs in progress by task, for tasks with any.</summary>
    public Dictionary<string, int> Running() =>
        _running.Where(p => p.Value.Value > 0).ToDictionary(p => p.Key, p => p.Value.Value, StringComparer.Ordinal);

    /// <summary>
    /// Whether a task is enabled, as the store has it now. Runs of one task that arrive while its flag is being read
    /// share that read: with the PostgreSQL store a read per run cost as much as the rest of the run.
    /// </summary>
    internal Task<bool> IsEnabledAsync(string taskName, CancellationToken cancellationToken)
    {
        if (_enabledReads.TryGetValue(taskName, out var pending))
            return pending.Value.WaitAsync(cancellationToken);
        Lazy<Task<bool>>? mine = null;
        mine = new Lazy<Task<bool>>(() => ReadEnabledAsync(taskName, mine!));
        return _enabledReads.GetOrAdd(taskName, mine).Value.WaitAsync(cancellationToken);
    }

    private async Task<bool> ReadEnabledAsync(string taskName, Lazy<Task<bool>> read)
    {
        try
        {
            // Shared by every waiting run, so no one run's cancellation ends it.
            return (await store.GetTaskAsync(taskName, stopping)).Enabled;
        }
        finally
        {
            _enabledReads.TryRemove(KeyValuePair.Create(taskName, read));
        }
    }

    /// <summary>Takes a run to its outcome; <paramref name="requeue"/> sends a next round or a rate-limited copy after a delay.</summary>
    /// <param name="task">The run's task.</param>
    /// <param name="run">The run, in <c>queued</c>.</param>
    /// <param name="scope">The run's service scope: the task and its <see cref="TaskRunContext"/> come from it.</param>
    /// <param name="redelivered">The broker delivered this message before.</param>
    /// <param name="requeue">Queues a run again after a delay.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public async Task<ConsumeOutcome> ProcessAsync(
        TaskDescriptor task, TaskRun run, IServiceProvider scope, bool redelivered, Func<TaskRun, TimeSpan, Task> requeue, CancellationToken cancellationToken)
    {
        if (run.ScheduledFor is not null && !await ClaimTickAsync(run, redelivered, cancellationToken))
        {
            LogDuplicateTick(logger, run.Task, run.Id);
            return ConsumeOutcome.Dropped;
        }
        if (!await IsEnabledAsync(task.Name, cancellationToken))
        {
            run.Error = $"task {task.Name} is disabled";
            run.SetState(TaskState.Aborted);
            return ConsumeOutcome.Finished;
        }
        Interlocked.Increment(ref _numConcurrentTasks);
        var counter = _running.GetOrAdd(task.Name, static _ => new Counter());
        Exception? failure;
        var slot = false;
        try
        {
            // The limit holds for every worker sharing the store: a slot there, then this process's count.
            slot = task.MaxConcurrency > 0 && await store.TryAcquireSlotAsync(task.Name, run.Id, task.MaxConcurrency, task.Timeout + SlotLeaseMargin, cancellationToken);
            if ((task.MaxConcurrency > 0 && !slot) || !counter.TryTake(task.MaxConcurrency))
            {
                if (task.RateLimitRetry is { } limit && limit.CanRetry(run.RateLimitAttempt + 1))
                {
                    var copy = NextRound(run, run.RetryAttempt, run.RateLimitAttempt + 1);
                    copy.RestoreQueued(run.Queued ?? time.GetUtcNow());
                    var wait = limit.Delay(copy.RateLimitAttempt);
                    await requeue(copy, wait > MinRateLimitDelay ? wait : MinRateLimitDelay);
                    return ConsumeOutcome.Requeued;
                }
                run.SetState(TaskState.RateLimited);
                return ConsumeOutcome.Finished;
            }
            try
            {
                failure = await TaskExecution.RunAsync(task, run, scope, time, rethrow: false, stopping, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref counter.Value);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _numConcurrentTasks);
            if (slot)
                await store.ReleaseSlotAsync(task.Name, run.Id, CancellationToken.None);
        }
        if (failure is not null && task.Retry is { } policy && policy.Matches(failure) && policy.CanRetry(run.RetryAttempt + 1))
        {
            var retry = NextRound(run, run.RetryAttempt + 1, run.RateLimitAttempt);
            var delay = policy.Delay(retry.RetryAttempt);
            retry.ExecuteAfter = time.GetUtcNow() + delay;
            dispatcher.Dispatch(retry);
            await requeue(retry, delay);
            return ConsumeOutcome.Requeued;
        }
        return ConsumeOutcome.Finished;
    }

    /// <summary>
    /// True when this delivery should run the tick. Every delivery claims it, a redelivered one too: a worker
    /// killed before its claim leaves none, and the tick's second copy (the scheduler's recovery of the killed
    /// node's fire) must find the claim of the delivery that ran. A redelivery of a claimed tick runs unless the
    /// store already holds its run finished (the worker died between storing the end and acking).
    /// </summary>
    private async Task<bool> ClaimTickAsync(TaskRun run, bool redelivered, CancellationToken cancellationToken)
    {
        if (await store.TryClaimAsync(run.Id, cancellationToken))
            return true;
        if (!redelivered)
            return false;
        var stored = await store.GetRunAsync(run.Id, cancellationToken);
        return stored is null || !stored.State.IsFinished();
    }

    private TaskRun NextRound(TaskRun run, int retryAttempt, int rateLimitAttempt) =>
        new(run.Guid, run.Task, run.Priority, run.Params, time, dispatcher)
        {
            FromRunId = run.FromRunId,
            RootRunId = run.RootRunId,
            RetryAttempt = retryAttempt,
            RateLimitAttempt = rateLimitAttempt,
        };

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Dropped a second run of the same tick: {Task}.{RunId}")]
    private static partial void LogDuplicateTick(ILogger logger, string task, string runId);

    private sealed class Counter
    {
        public int Value;

        /// <summary>One more, unless <paramref name="max"/> (when positive) are taken.</summary>
        public bool TryTake(int max)
        {
            while (true)
            {
                var current = Volatile.Read(ref Value);
                if (max > 0 && current >= max)
                    return false;
                if (Interlocked.CompareExchange(ref Value, current + 1, current) == current)
                    return true;
            }
        }
    }
}
