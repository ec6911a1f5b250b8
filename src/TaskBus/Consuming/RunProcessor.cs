using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TaskBus.Execution;
using TaskBus.Runs;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus.Consuming;

/// <summary>
/// The consume path of a delivered run, free of any transport: a second delivery of a scheduler tick is dropped (no
/// events); a disabled task's run ends aborted without running; over the task's concurrency limit (a slot in the
/// store shared by every worker, then this process's count) it is queued again per its rate-limit retry policy (a
/// copy, no events) or ends rate_limited; otherwise it runs, and a failure its retry policy matches starts a new
/// round (same id, next attempt, init and queued again) that waits out the policy's delay. While the store cannot
/// be reached, a run waits for it (its message unacknowledged) for its tick claim and its concurrency slot, which
/// cannot be guessed; a task's enabled flag is read as it was last seen.
/// </summary>
internal sealed partial class RunProcessor(
    ITaskStore store, StoreOutage outage, RunLifecycle lifecycle, TaskExecutor executor, IRunSender sender, RunsInProgress running, IServiceScopeFactory scopes,
    RunStandings standings, ILogger<RunProcessor> logger, IBrokerState? broker = null, RunIntake? intake = null) : IDisposable
{
    /// <summary>
    /// A run re-queued over its task's concurrency limit waits at least this long, even with a zero
    /// wait, so a busy task is not polled in a tight loop (aio-fluid's consumers poll once a second).
    /// </summary>
    public static readonly TimeSpan MinRateLimitDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>A run's concurrency slot is held for its task's timeout plus this margin; a slot of a worker that died frees itself then.</summary>
    public static readonly TimeSpan SlotLeaseMargin = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, Lazy<Task<bool>>> _enabledReads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _lastEnabled = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancels every run in progress: they end <c>interrupted</c> and their messages return to the queue.</summary>
    public void CancelRunning() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();

    /// <summary>Takes a delivered run to its outcome.</summary>
    /// <param name="task">The run's task.</param>
    /// <param name="run">The run, in <c>queued</c>.</param>
    /// <param name="delivery">How the run was delivered.</param>
    /// <param name="cancellationToken">Cancelled when the run's message is taken back (shutdown).</param>
    public async Task<ConsumeOutcome> ProcessAsync(TaskDescriptor task, TaskRun run, Delivery delivery, CancellationToken cancellationToken)
    {
        if (intake is null)
            return await ProcessCoreAsync(task, run, delivery, cancellationToken);
        // While the group is paused a delivered run waits here, nothing of it told, until resumed or handed back.
        await intake.EnterAsync(cancellationToken);
        try
        {
            return await ProcessCoreAsync(task, run, delivery, cancellationToken);
        }
        finally
        {
            intake.Leave();
        }
    }

    private async Task<ConsumeOutcome> ProcessCoreAsync(TaskDescriptor task, TaskRun run, Delivery delivery, CancellationToken cancellationToken)
    {
        if (run.ScheduledFor is not null && !await ClaimTickAsync(run, delivery.Redelivered, cancellationToken))
        {
            LogDuplicateTick(logger, run.Task, run.Id);
            return ConsumeOutcome.Dropped;
        }
        if (await CheckStartAsync(run, cancellationToken) is { } settled)
            return settled;
        if (!await IsEnabledAsync(task.Name, run.Id, cancellationToken))
        {
            lifecycle.Abort(run, $"task {task.Name} is disabled");
            return ConsumeOutcome.Finished;
        }
        running.Enter();
        var slot = false;
        try
        {
            // The limit holds for every worker sharing the store: a slot there, then this process's count.
            slot = task.MaxConcurrency > 0 && await outage.RunAsync(
                run.Id, token => store.TryAcquireSlotAsync(task.Name, run.Id, task.MaxConcurrency, task.Timeout + SlotLeaseMargin, token), cancellationToken);
            if ((task.MaxConcurrency > 0 && !slot) || !running.TryStart(task.Name, task.MaxConcurrency))
            {
                if (task.RateLimitRetry is { } limit && limit.CanRetry(run.RateLimitAttempt + 1))
                {
                    var copy = lifecycle.Postpone(run);
                    var wait = limit.Delay(copy.RateLimitAttempt);
                    await SendOnAsync(task, copy, wait > MinRateLimitDelay ? wait : MinRateLimitDelay, delivery.Reply, cancellationToken);
                    return ConsumeOutcome.Requeued;
                }
                lifecycle.RateLimit(run);
                return ConsumeOutcome.Finished;
            }
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await executor.RunAsync(task, run, scope.ServiceProvider, rethrow: false, _stopping.Token, cancellationToken);
            }
            finally
            {
                running.Finish(task.Name);
            }
        }
        finally
        {
            running.Leave();
            if (slot)
                await ReleaseSlotAsync(task, run, cancellationToken);
        }
        // The executor decided it when it ended the round: the failure's event says a retry follows.
        if (run.WillRetry && task.Retry is { } policy)
        {
            var retry = lifecycle.Retry(run);
            try
            {
                await SendOnAsync(task, retry, policy.Delay(retry.RetryAttempt), delivery.Reply, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // The broker refused the next round (not a wait, which is tried again): the run ends here, a final failure,
                // and its message goes to the error queue with the reason, from where it can be queued again.
                lifecycle.NotQueued(retry, $"the retry could not be queued: {ex.GetType().Name}: {ex.Message}");
                throw;
            }
            return ConsumeOutcome.Requeued;
        }
        return ConsumeOutcome.Finished;
    }

    /// <summary>
    /// What becomes of a run before it may start, from what the store says of it: a run whose round has ended already
    /// (a cancel of it while queued; a redelivery of a run that ended before its message was acknowledged) is dropped,
    /// no event; a run cancelled while its worker ran it, and that comes back, ends <c>aborted</c>; a run received after
    /// its expiry ends <c>aborted</c> ("expired"). Null: it goes on. While the store cannot be reached, it goes on.
    /// </summary>
    private async Task<ConsumeOutcome?> CheckStartAsync(TaskRun run, CancellationToken cancellationToken)
    {
        RunStanding? standing = null;
        // While the store is known to be away the run does not wait for this read: nothing else of it needs the store.
        if (!outage.IsDown)
        {
            var mark = outage.Mark;
            try
            {
                // Not a sign the store is back: this read may be one many runs share, begun before the store went away.
                standing = await standings.ReadAsync(run.Id, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && outage.IsOutage(ex))
            {
                outage.Unreachable(ex, null, mark);
            }
        }
        if (standing is { } stored)
        {
            // Cancelled: ended already (whatever round the store holds), or ends now.
            if (stored.State is not null && (stored.RetryAttempt >= run.RetryAttempt || stored.CancelReason is not null))
            {
                LogAlreadyEnded(logger, run.Task, run.Id, stored.State.Value, stored.CancelReason ?? "no cancel");
                return ConsumeOutcome.Dropped;
            }
            if (stored.CancelReason is { } reason)
            {
                lifecycle.Cancelled(run, reason);
                return ConsumeOutcome.Finished;
            }
        }
        if (run.ExpiresAt is { } expires && run.RetryAttempt == 0 && lifecycle.Time.GetUtcNow() > expires)
        {
            LogExpired(logger, run.Task, run.Id, expires);
            lifecycle.Expired(run);
            return ConsumeOutcome.Finished;
        }
        return null;
    }

    /// <summary>
    /// Sends a run's next round (a retry, a re-queue over the concurrency limit). While the broker does not take it,
    /// the delivered message stays unacknowledged, so the run is never lost between its two messages: a send that
    /// failed is tried again after 1 s, then longer, up to 30 s. A send the broker did not confirm (a resource alarm)
    /// is sent again only once the broker takes messages again, so an alarm adds at most one copy of the round (both
    /// run under the same id). At shutdown the delivered message goes back to the queue.
    /// </summary>
    private async Task SendOnAsync(TaskDescriptor task, TaskRun next, TimeSpan delay, RunReply? reply, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await sender.SendAsync(task, next, delay, reply, cancellationToken);
                if (attempt > 0)
                    LogSentOn(logger, next.Task, next.Id, attempt + 1);
                return;
            }
            catch (TaskQueueException ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (attempt == 0)
                    LogSendWaits(logger, next.Task, next.Id, ex.Message);
                await Task.Delay(Backoff(attempt), cancellationToken);
                if (ex.NotConfirmed && broker is not null)
                {
                    for (var wait = attempt + 1; await broker.WhyNotTakingAsync(cancellationToken) is not null; wait++)
                        await Task.Delay(Backoff(wait), cancellationToken);
                }
            }
        }

        static TimeSpan Backoff(int attempt) => TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(attempt, 5)));
    }

    /// <summary>
    /// Whether a task is enabled, as the store has it now. Runs of one task that arrive while its flag is being read
    /// share that read: with the PostgreSQL store a read per run cost as much as the rest of the run. While the store
    /// cannot be reached, the flag last read stands; a task whose flag was never read waits for the store.
    /// </summary>
    private async Task<bool> IsEnabledAsync(string taskName, string runId, CancellationToken cancellationToken)
    {
        if (outage.IsDown && _lastEnabled.TryGetValue(taskName, out var known))
            return known;
        var mark = outage.Mark;
        try
        {
            if (_enabledReads.TryGetValue(taskName, out var pending))
                return await pending.Value.WaitAsync(cancellationToken);
            Lazy<Task<bool>>? mine = null;
            mine = new Lazy<Task<bool>>(() => ReadEnabledAsync(taskName, mine!));
            return await _enabledReads.GetOrAdd(taskName, mine).Value.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && outage.IsOutage(ex))
        {
            outage.Unreachable(ex, runId, mark);
            if (_lastEnabled.TryGetValue(taskName, out known))
                return known;
            return await outage.RunAsync(runId, async token => await ReadEnabledAsync(taskName, null), cancellationToken);
        }
    }

    private async Task<bool> ReadEnabledAsync(string taskName, Lazy<Task<bool>>? read)
    {
        try
        {
            // Shared by every waiting run, so no one run's cancellation ends it.
            var enabled = (await store.GetTaskAsync(taskName, _stopping.Token)).Enabled;
            _lastEnabled[taskName] = enabled;
            outage.Reached();
            return enabled;
        }
        finally
        {
            if (read is not null)
                _enabledReads.TryRemove(KeyValuePair.Create(taskName, read));
        }
    }

    /// <summary>
    /// Gives the run's slot back, also at shutdown (the run was interrupted: its slot is free for the run's next
    /// delivery). While the store cannot be reached it waits for it, until shutdown: the slot's lease frees it then. A
    /// store that refuses the release for another reason is logged; the lease frees the slot too.
    /// </summary>
    private async Task ReleaseSlotAsync(TaskDescriptor task, TaskRun run, CancellationToken cancellationToken)
    {
        var mark = outage.Mark;
        try
        {
            await store.ReleaseSlotAsync(task.Name, run.Id, CancellationToken.None);
            outage.Reached();
        }
        catch (Exception ex) when (outage.IsOutage(ex))
        {
            if (cancellationToken.IsCancellationRequested)
                return;
            outage.Unreachable(ex, run.Id, mark);
            try
            {
                await outage.RunAsync(run.Id, token => store.ReleaseSlotAsync(task.Name, run.Id, token), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReleaseFailed(logger, ex, task.Name, run.Id);
        }
    }

    /// <summary>
    /// True when this delivery should run the tick. Every delivery claims it, a redelivered one too: a worker
    /// killed before its claim leaves none, and the tick's second copy (the scheduler's recovery of the killed
    /// node's fire) must find the claim of the delivery that ran. A redelivery of a claimed tick runs unless the
    /// store already holds its run finished (the worker died between storing the end and acking).
    /// </summary>
    private async Task<bool> ClaimTickAsync(TaskRun run, bool redelivered, CancellationToken cancellationToken)
    {
        // A claim whose answer was lost with the connection may have been made: after an outage, the stored run decides.
        var uncertain = false;
        bool claimed;
        var mark = outage.Mark;
        try
        {
            claimed = await store.TryClaimAsync(run.Id, cancellationToken);
            outage.Reached();
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && outage.IsOutage(ex))
        {
            uncertain = true;
            outage.Unreachable(ex, run.Id, mark);
            claimed = await outage.RunAsync(run.Id, token => store.TryClaimAsync(run.Id, token), cancellationToken);
        }
        if (claimed)
            return true;
        if (!redelivered && !uncertain)
            return false;
        var stored = await outage.RunAsync(run.Id, token => store.GetRunAsync(run.Id, token), cancellationToken);
        return stored is null || !stored.State.IsFinished();
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Dropped a second run of the same tick: {Task}.{RunId}")]
    private static partial void LogDuplicateTick(ILogger logger, string task, string runId);

    [LoggerMessage(EventId = 1607, Level = LogLevel.Information, Message = "Dropped {Task}.{RunId}: it has ended already ({State}; {Cancel})")]
    private static partial void LogAlreadyEnded(ILogger logger, string task, string runId, Contracts.TaskState state, string cancel);

    [LoggerMessage(EventId = 1608, Level = LogLevel.Information, Message = "{Task}.{RunId} expired at {Expires:O} before a worker took it: aborted without running")]
    private static partial void LogExpired(ILogger logger, string task, string runId, DateTimeOffset expires);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "The next round of {Task}.{RunId} could not be sent ({Error}); its message stays unacknowledged, sending again")]
    private static partial void LogSendWaits(ILogger logger, string task, string runId, string error);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Information, Message = "The next round of {Task}.{RunId} was sent at try {Attempt}")]
    private static partial void LogSentOn(ILogger logger, string task, string runId, int attempt);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Warning, Message = "The concurrency slot of {Task}.{RunId} could not be given back; its lease frees it")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string task, string runId);
}
