using System.Text.Json;
using TaskBus.Contracts;
using TaskBus.Events;
using TaskBus.Serialization;

namespace TaskBus;

/// <summary>
/// One run of a task: its parameters, state and timestamps (aio-fluid's <c>TaskRun</c>).
/// State changes follow aio-fluid's rules exactly and each real step is dispatched to the
/// manager's handlers as a snapshot.
/// </summary>
public sealed class TaskRun
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly TaskRunDispatcher? _dispatcher;
    private ParamsCache _paramsJson;

    internal TaskRun(Guid id, string task, TaskPriority priority, object parameters, TimeProvider time, TaskRunDispatcher? dispatcher)
    {
        Guid = id;
        Id = id.ToString("N");
        Task = task;
        Priority = priority;
        Params = parameters;
        _time = time;
        _dispatcher = dispatcher;
        _paramsJson = new ParamsCache(parameters);
    }

    /// <summary>The run id: 32 hex digits, also the id of its message on the bus.</summary>
    public string Id { get; }

    /// <summary>The task name.</summary>
    public string Task { get; }

    internal Guid Guid { get; }

    /// <summary>True when this run's message was delivered again after a worker stopped or died with it.</summary>
    public bool Redelivered { get; internal init; }

    /// <summary>
    /// The tick of the schedule this run belongs to, for a run queued by the scheduler (its id comes from
    /// task and tick); null otherwise.
    /// </summary>
    public DateTimeOffset? ScheduledFor { get; internal init; }

    /// <summary>The run's priority.</summary>
    public TaskPriority Priority { get; }

    /// <summary>The parameters record.</summary>
    public object Params { get; }

    /// <summary>The current state.</summary>
    public TaskState State { get; private set; } = TaskState.Init;

    /// <summary>When the run was queued.</summary>
    public DateTimeOffset? Queued { get; internal set; }

    /// <summary>When the run started.</summary>
    public DateTimeOffset? Start { get; internal set; }

    /// <summary>When the run ended.</summary>
    public DateTimeOffset? End { get; internal set; }

    /// <summary>Not before this time will the run be executed (set for delayed retries).</summary>
    public DateTimeOffset? ExecuteAfter { get; internal set; }

    /// <summary>How many times the run was retried after a failure.</summary>
    public int RetryAttempt { get; internal set; }

    /// <summary>How many times the run was re-queued because of its task's concurrency limit.</summary>
    public int RateLimitAttempt { get; internal set; }

    /// <summary>The run that queued this one, or empty.</summary>
    public string FromRunId { get; internal set; } = "";

    /// <summary>The first run of this chain, or empty.</summary>
    public string RootRunId { get; internal set; } = "";

    /// <summary>The exception type and message, or the abort reason, once the run failed or was aborted.</summary>
    public string? Error { get; internal set; }

    /// <summary>Time spent waiting in the queue: start − queued.</summary>
    public TimeSpan? InQueue => Start - Queued;

    /// <summary>Time spent running: end − start.</summary>
    public TimeSpan? Duration => End - Start;

    /// <summary><see cref="Duration"/> in milliseconds, rounded to two decimals.</summary>
    public double? DurationMs => Duration is { } d ? Math.Round(d.TotalMilliseconds, 2) : null;

    /// <summary>Total time: end − queued.</summary>
    public TimeSpan? Total => End - Queued;

    /// <summary><c>{task}.{id}</c>.</summary>
    public string NameId => $"{Task}.{Id}";

    /// <summary>True once the run is in a finished state.</summary>
    public bool IsDone => State.IsFinished();

    /// <summary>True only in the <c>failure</c> state.</summary>
    public bool IsFailure => State == TaskState.Failure;

    /// <summary>The parameters as JSON, computed once per run, secrets included (events show them masked).</summary>
    public JsonElement ParamsJson => _paramsJson.Value;

    /// <summary>Aborts the run: it ends <c>aborted</c> with <paramref name="reason"/> and is never retried.</summary>
    /// <exception cref="TaskAbortedException">Always.</exception>
    public void Abort(string reason) =>
        throw new TaskAbortedException(string.IsNullOrEmpty(reason) ? $"run {Id} aborted" : reason);

    /// <summary>
    /// Moves the run to <paramref name="state"/> following aio-fluid's rules: the same state is a
    /// no-op; <c>init</c> passes through <c>queued</c>, <c>queued</c> through <c>running</c>, where
    /// needed; anything else throws <see cref="TaskRunException"/> and changes nothing. Each step is
    /// dispatched.
    /// </summary>
    public void SetState(TaskState state, DateTimeOffset? at = null)
    {
        if (state == State)
            return;
        var path = PathTo(State, state);
        var time = at ?? _time.GetUtcNow();
        foreach (var step in path)
        {
            // Under the gate, so a reader on another thread (the store writer) never sees half a change.
            lock (_gate)
            {
                switch (step)
                {
                    case TaskState.Queued:
                        Queued = time;
                        break;
                    case TaskState.Running:
                        Start = time;
                        break;
                    default:
                        End = time;
                        break;
                }
                State = step;
            }
            _dispatcher?.Dispatch(this);
        }
    }

    /// <summary>A copy of the run as it is now; later changes to the run do not show in it.</summary>
    public TaskRun Snapshot() => (TaskRun)MemberwiseClone();

    /// <summary>The run as a <see cref="TaskRunEvent"/> of its current state; safe to call while another thread changes it.</summary>
    public TaskRunEvent ToEvent(string worker)
    {
        lock (_gate)
            return EventOf(worker);
    }

    /// <summary>Set while the store writer has this run waiting to be written; see <see cref="Storage.TaskStoreWriter"/>.</summary>
    internal int StorePending;

    private TaskRunEvent EventOf(string worker) => new()
    {
        Id = Id,
        Task = Task,
        State = State,
        Priority = Priority,
        Params = _paramsJson.Shown,
        Queued = Queued,
        Start = Start,
        End = End,
        DurationMs = DurationMs,
        FromRunId = FromRunId,
        RootRunId = RootRunId,
        RetryAttempt = RetryAttempt,
        RateLimitAttempt = RateLimitAttempt,
        Error = Error,
        Redelivered = Redelivered,
        ScheduledFor = ScheduledFor,
        Worker = _ranOn ?? worker,
    };

    // The worker a run that finished elsewhere ran on (ApplyRemote); its events name that worker, not this process.
    private string? _ranOn;

    /// <summary>Puts a run rebuilt from its message back in <c>queued</c>, without dispatching again.</summary>
    internal void RestoreQueued(DateTimeOffset queued)
    {
        Queued = queued;
        State = TaskState.Queued;
    }

    /// <summary>
    /// Ends a run that never ran as <c>failure</c>, with one event: its message could not be processed,
    /// or it could not be queued.
    /// </summary>
    internal void Fail(string error) => EndUnrun(TaskState.Failure, error);

    /// <summary>Ends a run that never ran in <paramref name="state"/>, with one event (a run removed from its queue is aborted).</summary>
    internal void EndUnrun(TaskState state, string error)
    {
        Error = error;
        lock (_gate)
        {
            End = _time.GetUtcNow();
            State = state;
        }
        _dispatcher?.Dispatch(this);
    }

    /// <summary>Copies the outcome of a run that finished elsewhere (its event) into this run, without dispatching.</summary>
    internal void ApplyRemote(TaskRunEvent evt)
    {
        State = evt.State;
        Queued = evt.Queued ?? Queued;
        Start = evt.Start;
        End = evt.End;
        Error = evt.Error;
        RetryAttempt = evt.RetryAttempt;
        RateLimitAttempt = evt.RateLimitAttempt;
        _ranOn = string.IsNullOrEmpty(evt.Worker) ? _ranOn : evt.Worker;
    }

    /// <inheritdoc />
    public override string ToString() => $"{NameId} {State.ToWire()}";

    private static TaskState[] PathTo(TaskState from, TaskState to) => (from, to) switch
    {
        (TaskState.Init, TaskState.Queued) => [TaskState.Queued],
        (TaskState.Init, TaskState.Running) => [TaskState.Queued, TaskState.Running],
        (TaskState.Init, TaskState.Success or TaskState.Failure or TaskState.Aborted or TaskState.RateLimited)
            => [TaskState.Queued, TaskState.Running, to],
        (TaskState.Queued, TaskState.Running) => [TaskState.Running],
        (TaskState.Queued, TaskState.Success or TaskState.Failure or TaskState.Aborted or TaskState.RateLimited)
            => [TaskState.Running, to],
        (TaskState.Running, TaskState.Success or TaskState.Failure or TaskState.Aborted or TaskState.RateLimited or TaskState.Interrupted)
            => [to],
        _ => throw new TaskRunException($"invalid state transition {from.ToWire()} -> {to.ToWire()}"),
    };

    // Shared by a run and its snapshots so the params are serialized at most once.
    private sealed class ParamsCache(object parameters)
    {
        private JsonElement? _value;
        private JsonElement? _shown;

        /// <summary>The params as the task gets them.</summary>
        public JsonElement Value => _value ??= JsonSerializer.SerializeToElement(parameters, parameters.GetType(), TaskBusJson.Options);

        /// <summary>The params as events, the store, logs and outputs show them: secret properties masked.</summary>
        public JsonElement Shown => _shown ??= SecretParams.Hide(Value, parameters.GetType());
    }
}
