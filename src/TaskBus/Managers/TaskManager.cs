using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TaskBus.Contracts;
using TaskBus.Events;
using TaskBus.Execution;
using TaskBus.Transport;

namespace TaskBus;

/// <summary>
/// Creates, queues and executes task runs (aio-fluid's <c>TaskManager</c>). A process that only
/// queues work uses this class; <see cref="TaskConsumer"/> adds consuming and
/// <see cref="TaskBusScheduler"/> periodic scheduling.
/// </summary>
public partial class TaskManager : IAsyncDisposable
{
    private readonly IServiceProvider _services;
    private readonly AsyncTaskRunDispatcher _asyncDispatcher;
    private TaskQueue? _queue;
    private int _disposed;

    /// <summary>Creates a manager over a registry; <paramref name="services"/> supplies the bus and task dependencies.</summary>
    public TaskManager(TaskRegistry registry, IServiceProvider services, IOptions<TaskBusOptions> options, TimeProvider? time = null, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _services = services ?? throw new ArgumentNullException(nameof(services));
        Options = options.Value;
        Time = time ?? TimeProvider.System;
        Loggers = loggers ?? NullLoggerFactory.Instance;
        Logger = Loggers.CreateLogger(GetType());
        Dispatcher = new TaskRunDispatcher(Loggers.CreateLogger<TaskRunDispatcher>());
        // A key naming no task is a typo or a task that was removed: say so rather than run without it.
        var unknown = Options.Schedules.Keys.Where(name => !Registry.Contains(name)).Select(name => $"TaskBus:Schedules:{name}: no task is named {name}.")
            .Concat(Options.Retries.Keys.Where(name => !Registry.Contains(name)).Select(name => $"TaskBus:Retries:{name}: no task is named {name}."))
            .ToList();
        if (unknown.Count > 0)
            throw new OptionsValidationException(TaskBusOptions.SectionName, typeof(TaskBusOptions), unknown);
        foreach (var (name, schedule) in Options.Schedules)
            Registry.Replace(Registry.Get(name).WithSchedule(Scheduling.TaskSchedule.Parse(schedule)));
        foreach (var (name, retry) in Options.Retries)
            Registry.Replace(Registry.Get(name).WithRetry(retry.ApplyTo(Registry.Get(name).Retry)));
        _asyncDispatcher = new AsyncTaskRunDispatcher(Loggers.CreateLogger<AsyncTaskRunDispatcher>());
    }

    /// <summary>The registered tasks.</summary>
    public TaskRegistry Registry { get; }

    /// <summary>The dispatcher of task run state changes.</summary>
    public TaskRunDispatcher Dispatcher { get; }

    /// <summary>The settings.</summary>
    public TaskBusOptions Options { get; }

    /// <summary><c>task_manager</c>, <c>task_consumer</c> or <c>task_scheduler</c>.</summary>
    public virtual string Type => "task_manager";

    /// <summary>This process, as <c>host-pid</c>: the <c>worker</c> of the events it publishes.</summary>
    public static string WorkerName { get; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>The clock.</summary>
    protected internal TimeProvider Time { get; }

    /// <summary>The logger factory.</summary>
    protected ILoggerFactory Loggers { get; }

    /// <summary>This manager's logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>The service provider the manager resolves the bus and task dependencies from.</summary>
    protected internal IServiceProvider Services => _services;

    /// <summary>The worker group's queue, where runs are sent.</summary>
    internal TaskQueue Queue => _queue ??= _services.GetRequiredService<TaskQueue>();

    /// <summary>Creates a run in the <c>init</c> state (no event). Params are validated here.</summary>
    /// <param name="task">The task name.</param>
    /// <param name="parameters">Null for defaults, the params record, JSON, or a name→value map.</param>
    /// <param name="runId">The run id (a GUID); a new one when null.</param>
    /// <param name="priority">The run's priority; the task's when null.</param>
    /// <exception cref="UnknownTaskException">No such task.</exception>
    /// <exception cref="TaskParamsException">The params do not fit.</exception>
    public TaskRun CreateTaskRun(string task, object? parameters = null, string? runId = null, TaskPriority? priority = null) =>
        CreateTaskRun(Registry.Get(task), parameters, runId, priority);

    /// <summary>
    /// Queues a run: <c>init</c>, then <c>queued</c>, then its message is sent to the worker group's queue
    /// (<see cref="TaskBusOptions.QueueName"/>); returns once the broker has it. A run that cannot be put in the
    /// queue ends <c>failure</c> and <see cref="TaskQueueException"/> is thrown.
    /// </summary>
    public Task<TaskRun> QueueAsync(string task, object? parameters = null, TaskPriority? priority = null, CancellationToken cancellationToken = default) =>
        QueueAsync(CreateTaskRun(task, parameters, priority: priority), cancellationToken);

    /// <summary>Queues a run created by <see cref="CreateTaskRun(string, object?, string?, TaskPriority?)"/>.</summary>
    public async Task<TaskRun> QueueAsync(TaskRun run, CancellationToken cancellationToken = default)
    {
        var task = MarkQueued(run);
        try
        {
            await Queue.SendAsync(task, run, null, null, cancellationToken);
        }
        catch (TaskQueueException ex)
        {
            run.Fail(ex.Message);
            throw;
        }
        return run;
    }

    /// <summary>
    /// Queues a run and waits until it finishes, wherever it runs. Only this run's final event
    /// comes back to this process. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>
    /// (defaults to 2 s, as aio-fluid), <see cref="TaskQueueException"/> when it cannot be queued.
    /// </summary>
    public Task<TaskRun> QueueAndWaitAsync(string task, object? parameters = null, TimeSpan? timeout = null, TaskPriority? priority = null, CancellationToken cancellationToken = default) =>
        QueueAndWaitAsync(CreateTaskRun(task, parameters, priority: priority), timeout, cancellationToken);

    /// <summary>Queues a run created by <see cref="CreateTaskRun(string, object?, string?, TaskPriority?)"/> and waits until it finishes.</summary>
    public async Task<TaskRun> QueueAndWaitAsync(TaskRun run, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(2);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(wait, TimeSpan.Zero, nameof(timeout));
        var task = MarkQueued(run);
        try
        {
            var final = await Queue.RequestAsync(task, run, wait, cancellationToken);
            run.ApplyRemote(final);
            return run;
        }
        catch (TaskQueueException ex)
        {
            run.Fail(ex.Message);
            throw;
        }
        catch (RequestTimeoutException ex)
        {
            throw new TimeoutException($"Run {run.NameId} did not finish within {wait}.", ex);
        }
        catch (RequestFaultException ex)
        {
            run.ApplyRemote(run.ToEvent(WorkerName) with
            {
                State = TaskState.Failure,
                Error = string.Join("; ", ex.Fault?.Exceptions.Select(e => $"{ShortTypeName(e.ExceptionType)}: {e.Message}") ?? [ex.Message]),
            });
            return run;
        }
    }

    /// <summary>Executes a task inline in this process and returns the finished run. No queue, no concurrency limit, no retry.</summary>
    /// <remarks>An abort returns the run <c>aborted</c>; any other exception reaches the caller, after the run is marked <c>failure</c>.</remarks>
    public Task<TaskRun> ExecuteAsync(string task, object? parameters = null, CancellationToken cancellationToken = default) =>
        ExecuteAsync(CreateTaskRun(task, parameters), cancellationToken);

    /// <summary>Executes a run created by <see cref="CreateTaskRun(string, object?, string?, TaskPriority?)"/> inline.</summary>
    public async Task<TaskRun> ExecuteAsync(TaskRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var task = Registry.Get(run.Task);
        if (task.Invoker is null)
            throw new InvalidOperationException($"Task {task.Name} has no implementation in this process; queue it instead.");
        await using var scope = _services.CreateAsyncScope();
        await TaskExecution.RunAsync(task, run, scope.ServiceProvider, Time, rethrow: true, CancellationToken.None, cancellationToken);
        return run;
    }

    /// <summary>Registers a handler for an event name (<c>state</c> or <c>state.tag</c>); returns the one it replaced.</summary>
    public Action<TaskRun>? RegisterHandler(string eventName, Action<TaskRun> handler) => Dispatcher.RegisterHandler(eventName, handler);

    /// <summary>Removes a handler; returns it, or null.</summary>
    public Action<TaskRun>? UnregisterHandler(string eventName) => Dispatcher.UnregisterHandler(eventName);

    /// <summary>Registers an async handler, run off the hot path with a snapshot of the run; returns the one it replaced.</summary>
    public Func<TaskRun, CancellationToken, Task>? RegisterAsyncHandler(string eventName, Func<TaskRun, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return _asyncDispatcher.Register(eventName, handler, Dispatcher);
    }

    /// <summary>Removes an async handler; returns it, or null.</summary>
    public Func<TaskRun, CancellationToken, Task>? UnregisterAsyncHandler(string eventName) => _asyncDispatcher.Unregister(eventName);

    /// <summary>
    /// The messages waiting in the worker group's queue (aio-fluid's queue length), per priority where the broker
    /// tells: on RabbitMQ, from its management API.
    /// </summary>
    public Task<TaskQueueStatus> GetQueueStatusAsync(CancellationToken cancellationToken = default) =>
        _services.GetRequiredService<ITaskQueueBroker>().GetStatusAsync(cancellationToken);

    /// <summary>
    /// Removes the runs waiting in the worker group's queue, all or those of one priority (aio-fluid's
    /// <c>clear_queue</c>); each removed run ends <c>aborted</c>, with an event. Runs a worker already took are
    /// not waiting and are not touched. Returns how many were removed.
    /// </summary>
    /// <exception cref="NotSupportedException">The in-memory transport cannot remove what it holds.</exception>
    public async Task<int> ClearQueueAsync(TaskPriority? priority = null, CancellationToken cancellationToken = default)
    {
        var removed = await _services.GetRequiredService<ITaskQueueBroker>().RemoveAsync(priority, cancellationToken);
        var reason = priority is { } p ? $"removed from queue {Options.QueueName} (priority {p.ToWire()} cleared)" : $"removed from queue {Options.QueueName} (queue cleared)";
        foreach (var message in removed)
            RunOf(message)?.EndUnrun(TaskState.Aborted, reason);
        // With a shared store, the history says aborted before this returns.
        if (removed.Count > 0 && _services.GetService<IStateChangeOutlet>() is { } outlet)
            await outlet.WentOutAsync().WaitAsync(cancellationToken);
        LogQueueCleared(Logger, removed.Count, Options.QueueName, priority ?? (object)"all");
        return removed.Count;
    }

    /// <summary>A snapshot of what this manager is doing.</summary>
    public virtual TaskManagerStatus GetStatus() => new()
    {
        Type = Type,
        Worker = WorkerName,
        Tasks = Registry.Count,
    };

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The same instance may be registered under several service types; dispose once.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        await DisposeAsyncCore();
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops the async handlers; pending ones are dropped.</summary>
    protected virtual ValueTask DisposeAsyncCore() => _asyncDispatcher.DisposeAsync();

    internal TaskRun CreateTaskRun(TaskDescriptor task, object? parameters, string? runId, TaskPriority? priority) =>
        CreateTaskRun(task, parameters, runId is null ? Guid.NewGuid() : ParseRunId(runId), priority, scheduledFor: null);

    internal TaskRun CreateTaskRun(TaskDescriptor task, object? parameters, Guid runId, TaskPriority? priority, DateTimeOffset? scheduledFor) =>
        new(runId, task.Name, priority ?? task.Priority, task.CreateParams(parameters), Time, Dispatcher) { ScheduledFor = scheduledFor };

    /// <summary>Run ids are GUIDs, because a run's id is its message id; written as 32 hex digits.</summary>
    internal static Guid ParseRunId(string runId) => Guid.TryParse(runId, out var guid)
        ? guid
        : throw new ArgumentException($"Run id '{runId}' is not a GUID.", nameof(runId));

    /// <summary>Where a run becomes <c>queued</c>: <c>init</c> is dispatched, then <c>queued</c>, whose time the run's message carries.</summary>
    private TaskDescriptor MarkQueued(TaskRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.State != TaskState.Init)
            throw new TaskRunException($"run {run.NameId} is {run.State.ToWire()}; only a run in init can be queued");
        var task = Registry.Get(run.Task);
        Dispatcher.Dispatch(run);
        run.SetState(TaskState.Queued);
        return task;
    }

    /// <summary>The run a message taken out of the queue carried; null when it carries no run TaskBus can tell.</summary>
    private TaskRun? RunOf(WaitingMessage message)
    {
        if (message.MessageId is not { } id || !TaskHeaders.TryRead(message.RunHeader, out var header) || !Registry.TryGet(header.Task, out var task))
            return null;
        return RestoreRun(id, task, header, Serialization.MassTransitEnvelope.TryReadMessage(message.Body, task.ParamsType) ?? MissingParams.Instance, redelivered: false);
    }

    /// <summary>A run rebuilt from its message and run header, in <c>queued</c>, without dispatching again.</summary>
    internal TaskRun RestoreRun(Guid id, TaskDescriptor task, in TaskHeaders.RunHeader header, object parameters, bool redelivered)
    {
        var run = new TaskRun(id, task.Name, header.Priority, parameters, Time, Dispatcher)
        {
            FromRunId = header.FromRunId,
            RootRunId = header.RootRunId,
            RetryAttempt = header.RetryAttempt,
            RateLimitAttempt = header.RateLimitAttempt,
            ScheduledFor = header.ScheduledFor,
            Redelivered = redelivered,
        };
        run.RestoreQueued(header.Queued);
        return run;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Removed {Count} waiting runs from queue {Queue} (priority {Priority})")]
    private static partial void LogQueueCleared(ILogger logger, int count, string queue, object priority);

    /// <summary>Stands for params a removed message carried but that could not be read back.</summary>
    private sealed class MissingParams
    {
        public static readonly MissingParams Instance = new();
    }

    private static string ShortTypeName(string? fullName) =>
        fullName is null ? "Exception" : fullName[(fullName.LastIndexOf('.') + 1)..];
}
