using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskBus.Contracts;
using TaskBus.Execution;
using TaskBus.Storage;

namespace TaskBus;

/// <summary>
/// A manager that also consumes task messages from the bus (aio-fluid's <c>TaskConsumer</c>):
/// it rebuilds each run from its message, enforces the task's concurrency limit and runs it.
/// </summary>
public partial class TaskConsumer : TaskManager
{
    private ITaskStore? _store;
    private Events.IStateChangeOutlet? _outlet;
    private bool _outletResolved;

    /// <summary>
    /// A run re-queued over its task's concurrency limit waits at least this long, even with a zero
    /// wait, so a busy task is not polled in a tight loop (aio-fluid's consumers poll once a second).
    /// </summary>
    public static readonly TimeSpan MinRateLimitDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>A run's concurrency slot is held for its task's timeout plus this margin; a slot of a worker that died frees itself then.</summary>
    public static readonly TimeSpan SlotLeaseMargin = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, StrongBox> _running = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private int _numConcurrentTasks;

    /// <summary>Creates a consumer over a registry.</summary>
    public TaskConsumer(TaskRegistry registry, IServiceProvider services, IOptions<TaskBusOptions> options, TimeProvider? time = null, ILoggerFactory? loggers = null)
        : base(registry, services, options, time, loggers)
    {
    }

    /// <inheritdoc />
    public override string Type => "task_consumer";

    /// <summary>Runs in progress in this process.</summary>
    public int NumConcurrentTasks => Volatile.Read(ref _numConcurrentTasks);

    /// <summary>Runs of one task in progress in this process.</summary>
    public int NumConcurrentTasksFor(string taskName) =>
        _running.TryGetValue(taskName, out var box) ? Volatile.Read(ref box.Value) : 0;

    /// <summary>True once <see cref="CancelRunning"/> was called.</summary>
    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <inheritdoc />
    public override TaskManagerStatus GetStatus() => base.GetStatus() with
    {
        NumConcurrentTasks = NumConcurrentTasks,
        MaxConcurrentTasks = Options.MaxConcurrentTasks,
        Running = _running.Where(p => p.Value.Value > 0).ToDictionary(p => p.Key, p => p.Value.Value, StringComparer.Ordinal),
    };

    /// <summary>Cancels every run in progress: they end <c>interrupted</c> and their messages return to the queue.</summary>
    public void CancelRunning() => _stopping.Cancel();

    /// <summary>Completes once every state change made so far was recorded in the shared store, if there is one.</summary>
    internal Task StateChangesWentOutAsync()
    {
        if (!_outletResolved)
        {
            _outlet = Services.GetService<Events.IStateChangeOutlet>();
            _outletResolved = true;
        }
        return _outlet?.WentOutAsync() ?? Task.CompletedTask;
    }

    /// <summary>The store this consumer checks tasks' enabled flags and ticks against.</summary>
    protected ITaskStore Store => _store ??= Services.GetService<ITaskStore>() ?? new MemoryTaskStore();

    /// <summary>
    /// Runs a run a message carried: a duplicate scheduler tick is dropped (no events); a disabled
    /// task's run ends aborted without running; over the task's concurrency limit it is re-queued per
    /// its rate-limit retry policy (a copy, no events) or ends rate_limited; a failure its retry policy
    /// matches starts a new round (same id, next attempt, init and queued again) after the policy's delay.
    /// </summary>
    internal async Task<ConsumeOutcome> ConsumeAsync(
        TaskDescriptor task, TaskRun run, IServiceProvider scope, bool redelivered, Func<TaskRun, TimeSpan, Task> requeue, CancellationToken cancellationToken)
    {
        if (run.ScheduledFor is not null && !await ClaimTickAsync(run, redelivered, cancellationToken))
        {
            LogDuplicateTick(Logger, run.Task, run.Id);
            return ConsumeOutcome.Dropped;
        }
        if (!(await Store.GetTaskAsync(task.Name, cancellationToken)).Enabled)
        {
            run.Error = $"task {task.Name} is disabled";
            run.SetState(TaskState.Aborted);
            return ConsumeOutcome.Finished;
        }
        Interlocked.Increment(ref _numConcurrentTasks);
        var counter = _running.GetOrAdd(task.Name, static _ => new StrongBox());
        Exception? failure;
        var slot = false;
        try
        {
            // The limit holds for every worker sharing the store: a slot there, then this process's count.
            slot = task.MaxConcurrency > 0 && await Store.TryAcquireSlotAsync(task.Name, run.Id, task.MaxConcurrency, task.Timeout + SlotLeaseMargin, cancellationToken);
            if ((task.MaxConcurrency > 0 && !slot) || !TryAcquire(counter, task.MaxConcurrency))
            {
                if (task.RateLimitRetry is { } limit && limit.CanRetry(run.RateLimitAttempt + 1))
                {
                    var copy = NextRound(run, run.RetryAttempt, run.RateLimitAttempt + 1);
                    copy.RestoreQueued(run.Queued ?? Time.GetUtcNow());
                    var wait = limit.Delay(copy.RateLimitAttempt);
                    await requeue(copy, wait > MinRateLimitDelay ? wait : MinRateLimitDelay);
                    return ConsumeOutcome.Requeued;
                }
                run.SetState(TaskState.RateLimited);
                return ConsumeOutcome.Finished;
            }
            try
            {
                failure = await TaskExecution.RunAsync(task, run, scope, Time, rethrow: false, _stopping.Token, cancellationToken);
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
                await Store.ReleaseSlotAsync(task.Name, run.Id, CancellationToken.None);
        }
        if (failure is not null && task.Retry is { } policy && policy.Matches(failure) && policy.CanRetry(run.RetryAttempt + 1))
        {
            var retry = NextRound(run, run.RetryAttempt + 1, run.RateLimitAttempt);
            var delay = policy.Delay(retry.RetryAttempt);
            retry.ExecuteAfter = Time.GetUtcNow() + delay;
            Dispatcher.Dispatch(retry);
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
        if (await Store.TryClaimAsync(run.Id, cancellationToken))
            return true;
        if (!redelivered)
            return false;
        var stored = await Store.GetRunAsync(run.Id, cancellationToken);
        return stored is null || !stored.State.IsFinished();
    }

    /// <summary>
    /// Queues a retry or re-queued run again after <paramref name="delay"/>: at once when there is none;
    /// through the broker (a dead-lettering delay queue, durable) on RabbitMQ; in this process otherwise.
    /// The run becomes <c>queued</c> when it is sent.
    /// </summary>
    internal async Task RequeueAsync(TaskDescriptor task, TaskRun run, TimeSpan delay, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            run.SetState(TaskState.Queued);
            await Queue.SendAsync(task, run, requestId, responseAddress, cancellationToken);
            return;
        }
        if (Services.GetService<IDelayedRequeue>() is { } broker)
        {
            run.SetState(TaskState.Queued);
            await broker.SendAsync(task, run, delay, requestId, responseAddress, cancellationToken);
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, Time, _stopping.Token);
                run.SetState(TaskState.Queued);
                await Queue.SendAsync(task, run, requestId, responseAddress, CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                LogRequeueFailed(Logger, ex, run.Task, run.Id);
            }
        }, CancellationToken.None);
    }

    private TaskRun NextRound(TaskRun run, int retryAttempt, int rateLimitAttempt) =>
        new(run.Guid, run.Task, run.Priority, run.Params, Time, Dispatcher)
        {
            FromRunId = run.FromRunId,
            RootRunId = run.RootRunId,
            RetryAttempt = retryAttempt,
            RateLimitAttempt = rateLimitAttempt,
        };

    /// <summary>The run a task message carries: id from the message id, the rest from TaskBus headers, defaults for a plain message.</summary>
    internal TaskRun RunFromMessage(TaskDescriptor task, object message, ConsumeContext context)
    {
        var id = context.MessageId ?? NewId.NextGuid();
        // Queued by a TaskBus manager, which already dispatched init and queued.
        if (TaskHeaders.TryRead(context.Headers, out var header))
            return RestoreRun(id, task, header, message, context.ReceiveContext.Redelivered);
        // A plain MassTransit publish: this is the first TaskBus sees of the run.
        var run = new TaskRun(id, task.Name, task.Priority, message, Time, Dispatcher) { Redelivered = context.ReceiveContext.Redelivered };
        Dispatcher.Dispatch(run);
        run.SetState(TaskState.Queued, context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : null);
        return run;
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        _stopping.Dispose();
        await base.DisposeAsyncCore();
    }

    [LoggerMessage(EventId = 1602, Level = LogLevel.Error, Message = "Run {Task}.{RunId} could not be queued again")]
    private static partial void LogRequeueFailed(ILogger logger, Exception exception, string task, string runId);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Dropped a second run of the same tick: {Task}.{RunId}")]
    private static partial void LogDuplicateTick(ILogger logger, string task, string runId);

    private static bool TryAcquire(StrongBox counter, int max)
    {
        while (true)
        {
            var current = Volatile.Read(ref counter.Value);
            if (max > 0 && current >= max)
                return false;
            if (Interlocked.CompareExchange(ref counter.Value, current + 1, current) == current)
                return true;
        }
    }

    private sealed class StrongBox
    {
        public int Value;
    }
}
