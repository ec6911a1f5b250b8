using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.Execution;
using TaskBus.Runs;
using TaskBus.Serialization;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus.Client;

/// <summary>
/// Creates, queues, waits for and executes task runs, and holds the handlers of their state changes (aio-fluid's
/// <c>TaskManager</c>). Inject it wherever runs are queued; a process that also consumes or schedules runs (aio-fluid's
/// <c>TaskConsumer</c> and <c>TaskScheduler</c>) says so in <see cref="Type"/> and <see cref="GetStatus"/>.
/// </summary>
public sealed partial class TaskManager : IRunQueue
{
    private readonly RunLifecycle _lifecycle;
    private readonly RunHandlers _handlers;
    private readonly IRunSender _sender;
    private readonly IQueueControl _queue;
    private readonly TaskExecutor _executor;
    private readonly IServiceScopeFactory _scopes;
    private readonly RunsInProgress _running;
    private readonly ITaskStore _store;
    private readonly RunTally? _tally;
    private readonly TaskStoreWriter _writer;
    private readonly RunCancellations _cancellations;
    private readonly ILogger _logger;

    internal TaskManager(
        TaskRegistry registry, IOptions<TaskBusOptions> options, RunLifecycle lifecycle, RunHandlers handlers, IRunSender sender, IQueueControl queue,
        TaskExecutor executor, IServiceScopeFactory scopes, RunsInProgress running, ITaskStore store, TaskStoreWriter writer, RunCancellations cancellations,
        ILogger<TaskManager> logger, RunTally? tally = null)
    {
        _writer = writer;
        _tally = tally;
        _store = store;
        _cancellations = cancellations;
        Registry = registry;
        Options = options.Value;
        _lifecycle = lifecycle;
        _handlers = handlers;
        _sender = sender;
        _queue = queue;
        _executor = executor;
        _scopes = scopes;
        _running = running;
        _logger = logger;
    }

    /// <summary>The registered tasks.</summary>
    public TaskRegistry Registry { get; }

    /// <summary>The settings.</summary>
    public TaskBusOptions Options { get; }

    /// <summary>
    /// What this process is, in aio-fluid's names: <c>task_manager</c> (queues only), <c>task_consumer</c> (also
    /// consumes, <see cref="TaskBusOptions.ConsumeTasks"/>) or <c>task_scheduler</c> (also schedules, <see cref="TaskBusOptions.ScheduleTasks"/>).
    /// </summary>
    public string Type => Options.ScheduleTasks ? "task_scheduler" : Options.ConsumeTasks ? "task_consumer" : "task_manager";

    /// <summary>This process, as <c>host-pid</c>: the <c>worker</c> of the events it publishes.</summary>
    public static string WorkerName => ThisWorker.Name;

    /// <summary>Creates a run in the <c>init</c> state (no event). Params are validated here.</summary>
    /// <param name="task">The task name.</param>
    /// <param name="parameters">Null for defaults, the params record, JSON, or a name→value map.</param>
    /// <param name="runId">The run id (a GUID); a new one when null.</param>
    /// <param name="priority">The run's priority; the task's when null.</param>
    /// <exception cref="UnknownTaskException">No such task.</exception>
    /// <exception cref="TaskParamsException">The params do not fit.</exception>
    public TaskRun CreateTaskRun(string task, object? parameters = null, string? runId = null, TaskPriority? priority = null) =>
        RunFactory.New(Registry.Get(task), parameters, runId is null ? Guid.NewGuid() : ParseRunId(runId), priority);

    /// <summary>
    /// Queues a run: <c>init</c>, then <c>queued</c>, then its message is sent to the worker group's queue
    /// (<see cref="TaskBusOptions.QueueName"/>); returns once the broker has it. A run that cannot be put in the
    /// queue ends <c>failure</c> and <see cref="TaskQueueException"/> is thrown; one the broker did not confirm within
    /// <c>TaskBus:RabbitMQ:PublishTimeout</c> stays <c>queued</c> (it may yet reach the queue) and the exception says
    /// <see cref="TaskQueueException.NotConfirmed"/>.
    /// </summary>
    public Task<TaskRun> QueueAsync(string task, object? parameters = null, TaskPriority? priority = null, CancellationToken cancellationToken = default) =>
        QueueAsync(CreateTaskRun(task, parameters, priority: priority), cancellationToken);

    /// <summary>
    /// Queues a run with options: priority, a unique key, an expiry. A run whose task and unique key are held by a run
    /// queued or running comes back as that run, <see cref="TaskRun.Deduplicated"/>, and nothing is sent.
    /// </summary>
    /// <exception cref="UnknownTaskException">No such task.</exception>
    /// <exception cref="TaskParamsException">The params do not fit.</exception>
    public Task<TaskRun> QueueAsync(string task, object? parameters, QueueOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return QueueAsync(CreateTaskRun(task, parameters, priority: options.Priority), options, cancellationToken);
    }

    /// <summary>Queues a run created by <see cref="CreateTaskRun"/>.</summary>
    public Task<TaskRun> QueueAsync(TaskRun run, CancellationToken cancellationToken = default) => QueueAsync(run, s_noOptions, cancellationToken);

    /// <summary>Queues a run created by <see cref="CreateTaskRun"/> with options (its priority was given at creation).</summary>
    public async Task<TaskRun> QueueAsync(TaskRun run, QueueOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(options);
        var descriptor = Registry.Get(run.Task);
        if (options.Expires is { } expires)
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(expires, TimeSpan.Zero, nameof(options));
        if (options.UniqueKey is { Length: 0 })
            throw new ArgumentException("A unique key cannot be empty.", nameof(options));
        if (options.Delay is { } delay)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero, nameof(options));
            if (options.At is not null)
                throw new ArgumentException("Give a delay or a time, not both.", nameof(options));
        }
        var now = _lifecycle.Time.GetUtcNow();
        var due = options.At ?? (options.Delay is { } wait ? now + wait : null);
        if (due <= now)
            due = null;
        // Kept to the millisecond, as its message carries it; rounded up, so it never starts before the time asked.
        if (due is { } exact)
            due = DateTimeOffset.FromUnixTimeMilliseconds((exact.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
        if (due is not null && !Options.ConsumeTasks && Options.Store.Provider == TaskStoreProvider.Memory)
        {
            throw new InvalidOperationException(
                "TaskBus:Store:Provider: a delayed run waits in the store until a consuming worker sends it; with the memory store of a process that "
                + "consumes nothing it would never be sent. Use the PostgreSQL store the workers share.");
        }
        if (run.State == TaskState.Init)
        {
            RunFactory.SetTerms(
                run,
                options.UniqueKey ?? run.UniqueKey ?? (descriptor.Unique ? ParamsKey.Of(run.ParamsJson) : null),
                due ?? run.Due,
                (options.Expires ?? descriptor.Expires) is { } life ? (due ?? now) + life : run.ExpiresAt);
        }
        if (run.UniqueKey is { } key && run.State == TaskState.Init
            && await HoldKeyAsync(descriptor.Name, key, run, cancellationToken) is var (holder, stored) && holder is not null)
        {
            LogDeduplicated(_logger, run.Task, holder, key);
            _tally?.CountDeduplicated(run.ScheduledFor is not null);
            var held = RunFactory.Held(holder, run, _lifecycle.Time.GetUtcNow());
            if (stored is not null)
                _lifecycle.Adopt(held, stored);
            return held;
        }
        var task = Queue(run);
        // A run that holds a unique key is sent whatever the caller does meanwhile: a send given up half way would
        // leave the key held by a run that is stored queued and never arrives.
        var sending = run.UniqueKey is null ? cancellationToken : CancellationToken.None;
        if (run.Due is { } at && at > now)
        {
            await HoldAsync(run, at, sending);
            return run;
        }
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _sender.SendAsync(task, run, TimeSpan.Zero, null, sending);
                return run;
            }
            catch (TaskQueueException ex) when (run.ScheduledFor is not null && attempt < TickSendAttempts && !sending.IsCancellationRequested)
            {
                // A tick is not lost to a broker node that dies: it is sent again (under its one id) once the
                // connection has moved to another node, for about a minute.
                var pause = TimeSpan.FromMilliseconds(Math.Min(5000, 250 * (1 << Math.Min(attempt, 5))));
                LogTickSendFailed(_logger, run.Task, run.Id, attempt, pause.TotalSeconds, ex.Message);
                try
                {
                    await Task.Delay(pause, _lifecycle.Time, sending);
                }
                catch (OperationCanceledException)
                {
                    // Stopping before it could be sent: the run ends, not left queued.
                    _lifecycle.NotQueued(run, $"not queued: stopped while it waited to be sent again ({ex.Message})");
                    throw;
                }
            }
            catch (TaskQueueException ex) when (!ex.NotConfirmed)
            {
                _lifecycle.NotQueued(run, ex.Message);
                throw;
            }
        }
    }

    /// <summary>How many times the run of a schedule's tick is sent before it is given up (about a minute of waits).</summary>
    internal const int TickSendAttempts = 16;

    /// <summary>A delayed run waits in the store until it is due; one the store did not take ends <c>failure</c>, as one the broker did not take.</summary>
    private async Task HoldAsync(TaskRun run, DateTimeOffset due, CancellationToken cancellationToken)
    {
        try
        {
            await _store.AddDelayedAsync(
                new DelayedRun(run.Id, Options.QueueName, run.Task, due, RunHeader.Format(run), RunHeader.FormatExpires(run), run.ParamsJson.GetRawText()),
                cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var error = $"Run {run.NameId} could not be held until {due:O}: {ex.GetType().Name}: {ex.Message}";
            _lifecycle.NotQueued(run, error);
            throw new TaskQueueException(error, ex);
        }
        LogDelayed(_logger, run.Task, run.Id, due);
    }


    /// <summary>
    /// Cancels a run by id, wherever it is. Queued (in the queue, waiting out a retry's delay, or to be delivered again):
    /// it ends <c>aborted</c> (<c>cancelled: reason</c>) now, in the store and as an event, and never starts; a worker that
    /// receives it drops it. Running: the worker that runs it, in this process or another sharing the store, cancels its
    /// token (an isolated run's child gets SIGTERM, then SIGKILL); it ends <c>aborted</c>, is never retried, and gives its
    /// slots back. Ended: nothing changes. Across processes this needs the shared (PostgreSQL) store; with the memory
    /// store it acts on this process's runs.
    /// </summary>
    /// <param name="runId">The run id (a GUID).</param>
    /// <param name="reason">Why; in the run's error. Defaults to "by request".</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<CancelOutcome> CancelAsync(string runId, string? reason = null, CancellationToken cancellationToken = default)
    {
        var id = ParseRunId(runId).ToString("N");
        var why = string.IsNullOrWhiteSpace(reason) ? "by request" : reason.Trim();
        // What this process knows of its runs is written first; a run that executes here is running, whatever the store says.
        await _writer.FlushAsync().WaitAsync(cancellationToken);
        var stored = await _store.GetRunAsync(id, cancellationToken);
        if (stored is null)
            return new CancelOutcome(id, CancelResult.NotFound, null);
        if (stored.State.IsFinished() && stored.State != TaskState.Interrupted)
            return new CancelOutcome(id, CancelResult.Ended, stored);
        if (stored.State == TaskState.Running || _cancellations.IsExecuting(id))
        {
            await _store.RequestCancelAsync(id, why, cancellationToken);
            _cancellations.Cancel(id, why);
            LogCancelRequested(_logger, stored.Task, id, why);
            return new CancelOutcome(id, CancelResult.Stopping, stored);
        }
        // A delayed run is taken out of the store first: it is never sent (if it is being sent, the worker drops it).
        if (stored.Due is not null)
            await _store.RemoveDelayedAsync(id, cancellationToken);
        // Its final state is stored before the cancel is: a worker that finds the cancel finds the run ended, and drops it.
        var run = RunFactory.FromStored(stored);
        _lifecycle.Cancelled(run, why);
        await _writer.FlushAsync().WaitAsync(cancellationToken);
        await _store.RequestCancelAsync(id, why, cancellationToken);
        // Should a worker have started it meanwhile, it stops it.
        _cancellations.Cancel(id, why);
        LogCancelled(_logger, stored.Task, id, why);
        return new CancelOutcome(id, CancelResult.Cancelled, run.ToEvent(WorkerName));
    }

    /// <summary>
    /// Queues a run and waits until it finishes, wherever it runs. Only this run's final event
    /// comes back to this process. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>
    /// (defaults to 2 s, as aio-fluid), <see cref="TaskQueueException"/> when it cannot be queued.
    /// </summary>
    public Task<TaskRun> QueueAndWaitAsync(string task, object? parameters = null, TimeSpan? timeout = null, TaskPriority? priority = null, CancellationToken cancellationToken = default) =>
        QueueAndWaitAsync(CreateTaskRun(task, parameters, priority: priority), timeout, cancellationToken);

    /// <summary>Queues a run created by <see cref="CreateTaskRun"/> and waits until it finishes.</summary>
    public async Task<TaskRun> QueueAndWaitAsync(TaskRun run, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(2);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(wait, TimeSpan.Zero, nameof(timeout));
        var task = Queue(run);
        TaskRunEvent final;
        try
        {
            final = await _sender.RequestAsync(task, run, wait, cancellationToken);
        }
        catch (TaskQueueException ex)
        {
            _lifecycle.NotQueued(run, ex.Message);
            throw;
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Run {run.NameId} did not finish within {wait}.", ex);
        }
        _lifecycle.Adopt(run, final);
        return run;
    }

    /// <summary>Executes a task inline in this process and returns the finished run. No queue, no concurrency limit, no retry.</summary>
    /// <remarks>An abort returns the run <c>aborted</c>; any other exception reaches the caller, after the run is marked <c>failure</c>.</remarks>
    public Task<TaskRun> ExecuteAsync(string task, object? parameters = null, CancellationToken cancellationToken = default) =>
        ExecuteAsync(CreateTaskRun(task, parameters), cancellationToken);

    /// <summary>Executes a run created by <see cref="CreateTaskRun"/> inline.</summary>
    public async Task<TaskRun> ExecuteAsync(TaskRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var task = Registry.Get(run.Task);
        if (task.Invoker is null)
            throw new InvalidOperationException($"Task {task.Name} has no implementation in this process; queue it instead.");
        await using var scope = _scopes.CreateAsyncScope();
        await _executor.RunAsync(task, run, scope.ServiceProvider, rethrow: true, CancellationToken.None, cancellationToken);
        return run;
    }

    /// <summary>Registers a handler for an event name (<c>state</c> or <c>state.tag</c>); returns the one it replaced.</summary>
    public Action<TaskRun>? RegisterHandler(string eventName, Action<TaskRun> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return _handlers.Register(eventName, handler);
    }

    /// <summary>Removes a handler; returns it, or null.</summary>
    public Action<TaskRun>? UnregisterHandler(string eventName) => _handlers.Unregister(eventName);

    /// <summary>Registers an async handler, run off the hot path with a snapshot of the run; returns the one it replaced.</summary>
    public Func<TaskRun, CancellationToken, Task>? RegisterAsyncHandler(string eventName, Func<TaskRun, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return _handlers.RegisterAsync(eventName, handler);
    }

    /// <summary>Removes an async handler; returns it, or null.</summary>
    public Func<TaskRun, CancellationToken, Task>? UnregisterAsyncHandler(string eventName) => _handlers.UnregisterAsync(eventName);

    /// <summary>
    /// The messages waiting in the worker group's queue (aio-fluid's queue length), per priority where the broker
    /// tells: on RabbitMQ, from its management API.
    /// </summary>
    public Task<TaskQueueStatus> GetQueueStatusAsync(CancellationToken cancellationToken = default) => _queue.GetStatusAsync(cancellationToken);

    /// <summary>
    /// Moves the worker group to the queue layout of these settings (<c>TaskBus:RabbitMQ:QueueType</c>,
    /// <c>TaskBus:RabbitMQ:Shards</c>): declares it, moves every run waiting in the group's queues of another layout
    /// (its priority kept; none lost, none doubled but one cut between its copy and its removal) and the error queue,
    /// then deletes the old queues. Stop the group's processes of the old layout first. Nothing to do on the in-memory transport.
    /// </summary>
    public Task<QueueMigration> MigrateQueuesAsync(CancellationToken cancellationToken = default) => _queue.MigrateAsync(cancellationToken);

    /// <summary>
    /// Removes the runs waiting in the worker group's queue, all or those of one priority (aio-fluid's
    /// <c>clear_queue</c>); each removed run ends <c>aborted</c>, with an event. Runs a worker already took are
    /// not waiting and are not touched. Returns how many were removed.
    /// </summary>
    /// <exception cref="NotSupportedException">The in-memory transport cannot remove what it holds.</exception>
    public async Task<int> ClearQueueAsync(TaskPriority? priority = null, CancellationToken cancellationToken = default)
    {
        var removed = await _queue.RemoveAsync(priority, cancellationToken);
        var reason = priority is { } p ? $"removed from queue {Options.QueueName} (priority {p.ToWire()} cleared)" : $"removed from queue {Options.QueueName} (queue cleared)";
        foreach (var message in removed)
        {
            // Only messages that carry a run of a task this process knows have a run to end.
            if (message is { MessageId: { } id, Header: { } header } && Registry.Contains(header.Task))
                _lifecycle.Removed(id, header, message.Params, reason);
        }
        // With a shared store, the history says aborted before this returns.
        if (removed.Count > 0)
            await _lifecycle.FlushAsync().WaitAsync(cancellationToken);
        LogQueueCleared(_logger, removed.Count, Options.QueueName, priority ?? (object)"all");
        return removed.Count;
    }

    /// <summary>
    /// The first <paramref name="limit"/> messages waiting in the worker group's error queue (<c>&lt;queue&gt;_error</c>),
    /// oldest first: run id, task, reason, when. Listing changes nothing.
    /// </summary>
    public async Task<IReadOnlyList<FailedMessage>> ListErrorsAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return [.. (await _queue.PeekErrorsAsync(limit, cancellationToken)).Select(m => m.Info)];
    }

    /// <summary>Deletes messages from the error queue: those of <paramref name="runIds"/>, or all when null. Returns what was deleted.</summary>
    public async Task<IReadOnlyList<FailedMessage>> DiscardErrorsAsync(IReadOnlyCollection<string>? runIds = null, CancellationToken cancellationToken = default)
    {
        var discarded = await _queue.TakeErrorsAsync(RunIdSet(runIds), m => Task.FromResult((true, m.Info)), cancellationToken);
        LogErrorsDiscarded(_logger, discarded.Count, Options.QueueName);
        return discarded;
    }

    /// <summary>
    /// Queues again the runs of messages in the error queue: those of <paramref name="runIds"/>, or all when null. Each
    /// becomes a new run with the same params whose <c>fromRunId</c> is the failed run, and its message leaves the
    /// error queue, so it cannot be requeued twice. A message whose task this process does not know, whose params do
    /// not fit its task's record, or that the broker does not take, stays, with the reason in its outcome.
    /// </summary>
    public async Task<IReadOnlyList<RequeueOutcome>> RequeueErrorsAsync(IReadOnlyCollection<string>? runIds = null, CancellationToken cancellationToken = default)
    {
        string? unconfirmed = null;
        var outcomes = await _queue.TakeErrorsAsync(RunIdSet(runIds), async message =>
        {
            var failed = message.Info;
            // After a run the broker did not confirm, nothing more is tried: each would wait out the publish timeout,
            // and that one may yet be queued while its message stays here.
            if (unconfirmed is not null)
                return (false, new RequeueOutcome(failed, null, $"not tried: the broker did not confirm an earlier run ({unconfirmed})"));
            if (message.Params is not { } parameters)
                return (false, new RequeueOutcome(failed, null, "its body is no message: nothing to run again"));
            var (outcome, notConfirmed) = await AgainAsync(failed, parameters, dryRun: false, cancellationToken);
            if (notConfirmed)
                unconfirmed = outcome.Failed.RunId;
            return (outcome.NewRunId is not null, outcome);
        }, cancellationToken);
        var requeued = outcomes.Count(o => o.NewRunId is not null);
        LogErrorsRequeued(_logger, requeued, outcomes.Count - requeued, Options.QueueName);
        return outcomes;
    }

    /// <summary>
    /// Queues again one run of the history that has ended: a new run with the same task and params, <c>fromRunId</c> the
    /// old run, by the same path as a requeue from the error queue. A run still queued or running, a run whose params
    /// hold a secret (stored masked: they cannot be rebuilt), a task this process does not know: refused, with the reason.
    /// </summary>
    /// <returns>The outcome; null when no run has this id.</returns>
    public async Task<RequeueOutcome?> RequeueAsync(string runId, CancellationToken cancellationToken = default)
    {
        var id = ParseRunId(runId).ToString("N");
        await _writer.FlushAsync().WaitAsync(cancellationToken);
        return await _store.GetRunAsync(id, cancellationToken) is { } stored ? (await RequeueStoredAsync(stored, dryRun: false, cancellationToken)).Outcome : null;
    }

    /// <summary>
    /// Queues again every run of the history that <paramref name="filter"/> matches, newest first, up to its limit, as
    /// <see cref="RequeueAsync(string, CancellationToken)"/> does one. A dry run queues nothing: each outcome says
    /// whether its run would be queued again (no error) or why not.
    /// </summary>
    public async Task<IReadOnlyList<RequeueOutcome>> RequeueRunsAsync(RunFilter filter, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(filter.Limit, 1, nameof(filter));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(filter.Limit, 100_000, nameof(filter));
        if (filter.Task is { } name)
            Registry.Get(name);
        await _writer.FlushAsync().WaitAsync(cancellationToken);
        // Every matching run is read before any is queued: the new runs never match the pages still to come.
        var matched = new List<TaskRunEvent>(Math.Min(filter.Limit, 1000));
        string? cursor = null;
        do
        {
            var page = await _store.QueryRunsAsync(new TaskRunQuery
            {
                Task = filter.Task,
                State = filter.State,
                From = filter.From,
                To = filter.To,
                // Queued again into this group's queue: only this group's runs (groups may share a store).
                Queue = Options.QueueName,
                Limit = Math.Min(1000, filter.Limit - matched.Count),
                Cursor = cursor,
            }, cancellationToken);
            matched.AddRange(page.Runs);
            cursor = page.Next;
        }
        while (cursor is not null && matched.Count < filter.Limit);
        var outcomes = new List<RequeueOutcome>(matched.Count);
        string? unconfirmed = null;
        foreach (var stored in matched)
        {
            // After a run the broker did not confirm, nothing more is tried: each would wait out the publish timeout.
            if (unconfirmed is not null)
            {
                outcomes.Add(new RequeueOutcome(Asked(stored), null, $"not tried: the broker did not confirm an earlier run ({unconfirmed})"));
                continue;
            }
            var (outcome, notConfirmed) = await RequeueStoredAsync(stored, dryRun, cancellationToken);
            outcomes.Add(outcome);
            if (notConfirmed)
                unconfirmed = stored.Id;
        }
        var requeued = outcomes.Count(o => o.NewRunId is not null);
        LogRunsRequeued(_logger, dryRun ? 0 : requeued, outcomes.Count, dryRun);
        return outcomes;
    }

    private async Task<(RequeueOutcome Outcome, bool NotConfirmed)> RequeueStoredAsync(TaskRunEvent stored, bool dryRun, CancellationToken cancellationToken)
    {
        var asked = Asked(stored);
        if (!stored.State.IsFinished() || stored.State == TaskState.Interrupted)
            return (new RequeueOutcome(asked, null, $"run {stored.Id} is {stored.State.ToWire()}: only a run that has ended is queued again"), false);
        if (!Registry.TryGet(stored.Task, out var task))
            return (new RequeueOutcome(asked, null, $"no task '{stored.Task}' in this process"), false);
        if (stored.Params is not { } parameters)
            return (new RequeueOutcome(asked, null, $"run {stored.Id} has no params stored: nothing to run again"), false);
        if (SecretParams.FirstMasked(parameters, task.ParamsType) is { } secret)
            return (new RequeueOutcome(asked, null, $"run {stored.Id}'s params hold the secret '{secret}', stored masked: they cannot be rebuilt; queue it anew with its params"), false);
        return await AgainAsync(asked, parameters, dryRun, cancellationToken);
    }

    private static FailedMessage Asked(TaskRunEvent stored) => new(stored.Id, stored.Task, stored.Error ?? stored.State.ToWire(), stored.End, null);

    /// <summary>
    /// The one way a run is queued again (from the error queue or the history): a new run of the same task with the
    /// same params, <c>fromRunId</c> the old run. The second value is true when the broker did not confirm it.
    /// </summary>
    private async Task<(RequeueOutcome Outcome, bool NotConfirmed)> AgainAsync(FailedMessage asked, object parameters, bool dryRun, CancellationToken cancellationToken)
    {
        if (!Registry.TryGet(asked.Task, out var task))
            return (new RequeueOutcome(asked, null, $"no task '{asked.Task}' in this process"), false);
        TaskRun run;
        try
        {
            run = RunFactory.Again(task, parameters, Guid.NewGuid(), asked.RunId);
        }
        catch (TaskParamsException ex)
        {
            return (new RequeueOutcome(asked, null, ex.Message), false);
        }
        if (dryRun)
            return (new RequeueOutcome(asked, null, null), false);
        try
        {
            await QueueAsync(run, cancellationToken);
        }
        catch (TaskQueueException ex)
        {
            return (new RequeueOutcome(asked, null, ex.Message), ex.NotConfirmed);
        }
        return (new RequeueOutcome(asked, run.Id, null), false);
    }

    /// <summary>
    /// Pauses the worker group (<see cref="TaskBusOptions.QueueName"/>): within a second its workers take no new run, let
    /// the runs running finish, and hand back the ones they held; runs queued meanwhile wait in the queue. Across
    /// processes this needs the shared (PostgreSQL) store; with the memory store it pauses this process's worker.
    /// </summary>
    public async Task PauseAsync(CancellationToken cancellationToken = default)
    {
        await _store.SetPausedAsync(Options.QueueName, true, cancellationToken);
        LogPauseSet(_logger, Options.QueueName, true);
    }

    /// <summary>Resumes the worker group paused by <see cref="PauseAsync"/>: within a second its workers take runs again.</summary>
    public async Task ResumeAsync(CancellationToken cancellationToken = default)
    {
        await _store.SetPausedAsync(Options.QueueName, false, cancellationToken);
        LogPauseSet(_logger, Options.QueueName, false);
    }

    /// <summary>True while the worker group is paused.</summary>
    public Task<bool> IsPausedAsync(CancellationToken cancellationToken = default) => _store.IsPausedAsync(Options.QueueName, cancellationToken);

    /// <summary>A snapshot of what this process is doing.</summary>
    public TaskManagerStatus GetStatus() => Options.ConsumeTasks
        ? new TaskManagerStatus
        {
            Type = Type,
            Worker = WorkerName,
            Tasks = Registry.Count,
            NumConcurrentTasks = _running.Count,
            MaxConcurrentTasks = Options.MaxConcurrentTasks,
            Running = _running.ByTask(),
        }
        : new TaskManagerStatus { Type = Type, Worker = WorkerName, Tasks = Registry.Count };

    /// <summary>A unique key whose run was never stored this long after it was taken is taken over: its queuer died first.</summary>
    /// <summary>
    /// Takes a unique key for a run, or finds the run that holds it (with what the store knows of that run). A holder
    /// that is this process's own run may have ended with its final state not yet written: what this process knows is
    /// written first, and a holder found ended then no longer holds the key.
    /// </summary>
    private async Task<(string? Holder, TaskRunEvent? Stored)> HoldKeyAsync(string task, string key, TaskRun run, CancellationToken cancellationToken)
    {
        if (await _store.TryHoldKeyAsync(task, key, run.Id, UnstoredKeyHolder, cancellationToken) is not { } holder)
            return (null, null);
        await _writer.FlushAsync().WaitAsync(cancellationToken);
        var stored = await _store.GetRunAsync(holder, cancellationToken);
        if (stored is not null && stored.State.IsFinished() && stored.State != TaskState.Interrupted)
        {
            holder = await _store.TryHoldKeyAsync(task, key, run.Id, UnstoredKeyHolder, cancellationToken);
            stored = holder is null ? null : await _store.GetRunAsync(holder, cancellationToken);
        }
        return (holder, stored);
    }

    internal static readonly TimeSpan UnstoredKeyHolder = TimeSpan.FromMinutes(1);

    private static readonly QueueOptions s_noOptions = new();

    Task<TaskRun> IRunQueue.QueueAsync(TaskRun run, CancellationToken cancellationToken) => QueueAsync(run, cancellationToken);

    /// <summary>Run ids as messages carry them (32 hex digits), whatever way they were written; null for all.</summary>
    private static HashSet<string>? RunIdSet(IReadOnlyCollection<string>? runIds) =>
        runIds is null ? null : [.. runIds.Select(id => ParseRunId(id).ToString("N"))];

    /// <summary>Run ids are GUIDs, because a run's id is its message id; written as 32 hex digits.</summary>
    private static Guid ParseRunId(string runId) => Guid.TryParse(runId, out var guid)
        ? guid
        : throw new ArgumentException($"Run id '{runId}' is not a GUID.", nameof(runId));

    /// <summary>Creates the run of one tick of a task's schedule, in <c>init</c>.</summary>
    internal static TaskRun CreateTickRun(TaskDescriptor task, Guid id, DateTimeOffset tick) => RunFactory.New(task, null, id, scheduledFor: tick);

    private TaskDescriptor Queue(TaskRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var task = Registry.Get(run.Task);
        _lifecycle.Queue(run);
        return task;
    }

    [LoggerMessage(EventId = 1904, Level = LogLevel.Information, Message = "Cancelled {Task}.{RunId} before it started: {Reason}")]
    private static partial void LogCancelled(ILogger logger, string task, string runId, string reason);

    [LoggerMessage(EventId = 1905, Level = LogLevel.Information, Message = "Cancel of {Task}.{RunId} sent to the worker that runs it: {Reason}")]
    private static partial void LogCancelRequested(ILogger logger, string task, string runId, string reason);

    [LoggerMessage(EventId = 1906, Level = LogLevel.Information, Message = "Not queued: {Task}.{RunId} holds unique key {Key} and is queued or running")]
    private static partial void LogDeduplicated(ILogger logger, string task, string runId, string key);

    [LoggerMessage(EventId = 1907, Level = LogLevel.Information, Message = "Requeued {Count} of {Matched} runs of the history (dry run: {DryRun})")]
    private static partial void LogRunsRequeued(ILogger logger, int count, int matched, bool dryRun);

    [LoggerMessage(EventId = 1908, Level = LogLevel.Information, Message = "Worker group {Queue} paused: {Paused}")]
    private static partial void LogPauseSet(ILogger logger, string queue, bool paused);

    [LoggerMessage(EventId = 1910, Level = LogLevel.Warning, Message = "The tick run {Task}.{RunId} could not be sent (attempt {Attempt}); sent again in {Seconds} s: {Reason}")]
    private static partial void LogTickSendFailed(ILogger logger, string task, string runId, int attempt, double seconds, string reason);

    [LoggerMessage(EventId = 1909, Level = LogLevel.Information, Message = "{Task}.{RunId} waits in the store until {Due:O}")]
    private static partial void LogDelayed(ILogger logger, string task, string runId, DateTimeOffset due);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Information, Message = "Removed {Count} waiting runs from queue {Queue} (priority {Priority})")]
    private static partial void LogQueueCleared(ILogger logger, int count, string queue, object priority);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Information, Message = "Discarded {Count} messages from the error queue of {Queue}")]
    private static partial void LogErrorsDiscarded(ILogger logger, int count, string queue);

    [LoggerMessage(EventId = 1903, Level = LogLevel.Information, Message = "Requeued {Count} runs from the error queue of {Queue}; {Kept} stay there")]
    private static partial void LogErrorsRequeued(ILogger logger, int count, int kept, string queue);
}
