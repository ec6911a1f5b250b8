using Microsoft.Extensions.Logging;
using TaskBus.Contracts;
using TaskBus.Tasks;

namespace TaskBus.Runs;

/// <summary>
/// The one owner of a run's life: every state change of every run in this process is made here, timed on the clock
/// given, and told, step by step, first to TaskBus's own sinks (store writer, event publisher, metrics), then to the
/// users' handlers with a snapshot. The steps follow aio-fluid: <c>init</c> → <c>queued</c> → <c>running</c> → a
/// final state, passing through the states between where a change skips them (a disabled task's run is aborted
/// through <c>running</c>), except for a run that ends without ever running (not queued, unreadable, removed
/// from its queue). A retry is a new round of the same run (same id, next attempt) that starts again at
/// <c>init</c>; a run re-queued over its task's concurrency limit is a silent copy.
/// </summary>
internal sealed partial class RunLifecycle(
    RunHandlers handlers, IEnumerable<IRunSink> sinks, TimeProvider time, ILogger<RunLifecycle> logger, IRunRecord? record = null, RunGroup? group = null)
{
    private readonly IRunSink[] _sinks = [.. sinks];
    private readonly string _queue = group?.Queue ?? "";

    /// <summary>The clock every step is timed on.</summary>
    public TimeProvider Time => time;

    /// <summary>Queues a run: <c>init</c>, then <c>queued</c> (at <paramref name="at"/>, or now), both told.</summary>
    /// <exception cref="TaskRunException">The run is not in <c>init</c>.</exception>
    public void Queue(TaskRun run, DateTimeOffset? at = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.State != TaskState.Init)
            throw new TaskRunException($"run {run.NameId} is {run.State.ToWire()}; only a run in init can be queued");
        Changed(run);
        Enter(run, TaskState.Queued, at ?? time.GetUtcNow(), null);
    }

    /// <summary>Ends a queued run the broker did not take: <c>failure</c>, without running.</summary>
    public void NotQueued(TaskRun run, string reason) => EndUnrun(run, TaskState.Failure, reason);

    /// <summary>
    /// The run a delivered task message carries: rebuilt in <c>queued</c> from its run header, silently (its sender told
    /// <c>init</c> and <c>queued</c>); or, for a plain publish, a new run told <c>init</c> and <c>queued</c> at the
    /// message's sent time, since this is the first TaskBus sees of it.
    /// </summary>
    public TaskRun Receive(Guid id, TaskDescriptor task, RunHeader? header, object message, bool redelivered, DateTimeOffset? sent)
    {
        var run = RunFactory.FromMessage(id, task, header, message, redelivered);
        if (run.State == TaskState.Init)
            Queue(run, sent);
        return run;
    }

    /// <summary>Ends the run of a message that cannot be processed (not JSON, no task takes it, params that do not fit) as <c>failure</c>.</summary>
    public void Unprocessable(Guid id, RunHeader? header, string error)
    {
        var run = header is { } h ? RunFactory.FromHeader(id, h.Task, h, null, redelivered: false) : RunFactory.Unknown(id, time.GetUtcNow());
        EndUnrun(run, TaskState.Failure, error);
    }

    /// <summary>Ends a run taken out of its queue unrun as <c>aborted</c>.</summary>
    public void Removed(Guid id, in RunHeader header, object? parameters, string reason) =>
        EndUnrun(RunFactory.FromHeader(id, header.Task, header, parameters, redelivered: false), TaskState.Aborted, reason);

    /// <summary>Ends a run cancelled before it started as <c>aborted</c> (<c>cancelled: reason</c>), without running.</summary>
    public void Cancelled(TaskRun run, string reason) => EndUnrun(run, TaskState.Aborted, CancelledError(reason));

    /// <summary>Ends a run received after its expiry as <c>aborted</c> (<c>expired</c>), without running.</summary>
    public void Expired(TaskRun run) => EndUnrun(run, TaskState.Aborted, "expired");

    /// <summary>The error of a run ended by a cancel.</summary>
    public static string CancelledError(string reason) => string.IsNullOrWhiteSpace(reason) ? "cancelled" : $"cancelled: {reason}";

    /// <summary>
    /// The run's task reports how far it has got: kept with the run and told to the sinks (stored, published as a
    /// <see cref="TaskRunProgress"/>), not to the users' handlers: it is not a state change.
    /// </summary>
    public void Progress(TaskRun run, double fraction, string? message)
    {
        run.Report(fraction, message);
        var progress = new TaskRunProgress
        {
            Id = run.Id,
            Task = run.Task,
            Fraction = fraction,
            Message = message,
            At = time.GetUtcNow(),
            Worker = ThisWorker.Name,
            Queue = _queue,
        };
        foreach (var sink in _sinks)
        {
            try
            {
                sink.OnProgress(run, progress);
            }
            catch (Exception ex)
            {
                LogSinkFailed(logger, ex, sink.GetType().Name, "progress", run.NameId);
            }
        }
    }

    /// <summary>The run starts: <c>running</c>.</summary>
    public void Start(TaskRun run) => MoveTo(run, TaskState.Running, null);

    /// <summary>The run ends <c>success</c>.</summary>
    public void Succeed(TaskRun run) => MoveTo(run, TaskState.Success, null);

    /// <summary>
    /// The run ends <c>failure</c> with <paramref name="error"/>; with <paramref name="willRetry"/>, this round ends and
    /// its retry policy queues the next (<see cref="Retry"/>), which its event says.
    /// </summary>
    public void Fail(TaskRun run, string error, bool willRetry = false) => MoveTo(run, TaskState.Failure, error, willRetry);

    /// <summary>The run ends <c>aborted</c> with <paramref name="reason"/>; from <c>queued</c> it passes through <c>running</c>.</summary>
    public void Abort(TaskRun run, string reason) => MoveTo(run, TaskState.Aborted, reason);

    /// <summary>The run is stopped by shutdown: <c>interrupted</c>; its message goes back to the queue.</summary>
    public void Interrupt(TaskRun run, string reason) => MoveTo(run, TaskState.Interrupted, reason);

    /// <summary>The run is refused by its task's concurrency limit: <c>rate_limited</c>, through <c>running</c>.</summary>
    public void RateLimit(TaskRun run) => MoveTo(run, TaskState.RateLimited, null);

    /// <summary>The next round of a failed run: same id, next retry attempt, told <c>init</c> and <c>queued</c> again.</summary>
    public TaskRun Retry(TaskRun run)
    {
        var next = RunFactory.NextRound(run, run.RetryAttempt + 1, run.RateLimitAttempt);
        Queue(next);
        return next;
    }

    /// <summary>A copy of a run refused by its task's concurrency limit, to queue again: next rate-limit attempt, still <c>queued</c>, nothing told.</summary>
    public TaskRun Postpone(TaskRun run) =>
        RunFactory.NextRound(run, run.RetryAttempt, run.RateLimitAttempt + 1, run.Queued ?? time.GetUtcNow());

    /// <summary>Takes the outcome of a run that ran elsewhere from its final event; nothing told (its worker told it).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "A transition, made on the owner of every transition.")]
    public void Adopt(TaskRun run, TaskRunEvent final) => run.Adopt(final);

    /// <summary>Completes once every change made so far is in the shared record of runs, where there is one.</summary>
    public Task FlushAsync() => record?.FlushAsync() ?? Task.CompletedTask;

    private void EndUnrun(TaskRun run, TaskState state, string error) => Enter(run, state, time.GetUtcNow(), error);

    private void MoveTo(TaskRun run, TaskState state, string? error, bool willRetry = false)
    {
        if (state == run.State)
            return;
        // The first step decides: every state a valid change passes through can go on to its end.
        var step = NextStep(run.State, state);
        var now = time.GetUtcNow();
        while (true)
        {
            Enter(run, step, now, step == state ? error : null, step == state && willRetry);
            if (step == state)
                return;
            step = NextStep(step, state);
        }
    }

    private void Enter(TaskRun run, TaskState state, DateTimeOffset at, string? error, bool willRetry = false)
    {
        run.Enter(state, at, error, willRetry);
        Changed(run);
    }

    private void Changed(TaskRun run)
    {
        // Once per run: every later change finds its group set.
        if (run.Queue.Length == 0)
            run.JoinGroup(_queue);
        TaskRunEvent? change = null;
        foreach (var sink in _sinks)
        {
            if (run.State == TaskState.Init && !sink.WantsInit)
                continue;
            try
            {
                sink.OnChanged(run, sink.WantsEvent ? change ??= run.ToEvent(ThisWorker.Name) : null);
            }
            catch (Exception ex)
            {
                LogSinkFailed(logger, ex, sink.GetType().Name, run.State.ToWire(), run.NameId);
            }
        }
        if (handlers.Any(run.State))
            handlers.Handle(run.Snapshot());
    }

    /// <summary>The next state on the way from <paramref name="from"/> to <paramref name="to"/>, as aio-fluid passes them.</summary>
    private static TaskState NextStep(TaskState from, TaskState to) => (from, to) switch
    {
        (TaskState.Init, TaskState.Queued or TaskState.Running or TaskState.Success or TaskState.Failure or TaskState.Aborted or TaskState.RateLimited)
            => TaskState.Queued,
        (TaskState.Queued, TaskState.Running or TaskState.Success or TaskState.Failure or TaskState.Aborted or TaskState.RateLimited)
            => TaskState.Running,
        (TaskState.Running, TaskState.Success or TaskState.Failure or TaskState.Aborted or TaskState.RateLimited or TaskState.Interrupted)
            => to,
        _ => throw new TaskRunException($"invalid state transition {from.ToWire()} -> {to.ToWire()}"),
    };

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "{Sink} failed on {State} of {Run}")]
    private static partial void LogSinkFailed(ILogger logger, Exception exception, string sink, string state, string run);
}
