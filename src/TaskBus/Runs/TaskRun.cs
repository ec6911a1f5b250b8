using System.Text.Json;
using TaskBus.Contracts;
using TaskBus.Serialization;
using TaskBus.Tasks;

namespace TaskBus.Runs;

/// <summary>
/// One run of a task (aio-fluid's <c>TaskRun</c>): its parameters, state and timestamps. Its state moves only
/// through TaskBus's lifecycle of a run, which hands every step to the handlers registered on the
/// <c>TaskManager</c>; a task ends its own run early with <see cref="Abort"/>.
/// </summary>
public sealed class TaskRun
{
    // Changes and reads of the state and its times are atomic: the store writer reads a run another thread moves.
    private readonly Lock _gate = new();
    private readonly ParamsCache _params;

    // The worker a run that finished elsewhere ran on (Adopt); its events name that worker, not this process.
    private string? _ranOn;
    private int _retryAttempt;
    private int _rateLimitAttempt;

    internal TaskRun(Guid id, string task, TaskPriority priority, object parameters, DateTimeOffset? queued = null)
    {
        Guid = id;
        Id = id.ToString("N");
        Task = task;
        Priority = priority;
        Params = parameters;
        _params = new ParamsCache(parameters);
        if (queued is { } at)
        {
            Queued = at;
            State = TaskState.Queued;
        }
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
    public DateTimeOffset? Queued { get; private set; }

    /// <summary>When the run started.</summary>
    public DateTimeOffset? Start { get; private set; }

    /// <summary>When the run ended.</summary>
    public DateTimeOffset? End { get; private set; }

    /// <summary>How many times the run was retried after a failure.</summary>
    public int RetryAttempt { get => _retryAttempt; internal init => _retryAttempt = value; }

    /// <summary>How many times the run was re-queued because of its task's concurrency limit.</summary>
    public int RateLimitAttempt { get => _rateLimitAttempt; internal init => _rateLimitAttempt = value; }

    /// <summary>The run that queued this one, or empty.</summary>
    public string FromRunId { get; internal init; } = "";

    /// <summary>The first run of this chain, or empty.</summary>
    public string RootRunId { get; internal init; } = "";

    /// <summary>The unique key it was queued with (<see cref="Tasks.TaskAttribute.Unique"/> or a key given at queue time), or null.</summary>
    public string? UniqueKey { get; internal set; }

    /// <summary>
    /// When the run expires, or null for never: a worker that receives it after this time ends it <c>aborted</c>
    /// ("expired") without running it. The retry rounds of a run that started do not expire.
    /// </summary>
    public DateTimeOffset? ExpiresAt { get; internal set; }

    /// <summary>When a delayed run is due: it waits in the store, <c>queued</c>, until then; null for a run sent at once.</summary>
    public DateTimeOffset? Due { get; internal set; }

    /// <summary>The latest progress its task reported (0 to 1), or null.</summary>
    public double? Progress { get; private set; }

    /// <summary>The message of the latest progress report, or null.</summary>
    public string? ProgressMessage { get; private set; }

    /// <summary>
    /// True when queueing found a run of the same task and unique key queued or running: this is that run (as far as
    /// this process knows it), and nothing was sent.
    /// </summary>
    public bool Deduplicated { get; internal init; }

    /// <summary>The exception type and message, or the abort reason, once the run failed or was aborted.</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// True on a <c>failure</c> that ends this round only: the task's retry policy queues the next round of the run
    /// (same id, <see cref="RetryAttempt"/> + 1). False on a final failure and in every other state.
    /// </summary>
    public bool WillRetry { get; private set; }

    /// <summary>The worker group the run belongs to (<c>TaskBus:QueueName</c>), once TaskBus has told a change of it; empty before.</summary>
    public string Queue { get; private set; } = "";

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
    public JsonElement ParamsJson => _params.Value;

    /// <summary>Aborts the run: it ends <c>aborted</c> with <paramref name="reason"/> and is never retried.</summary>
    /// <exception cref="TaskAbortedException">Always.</exception>
    public void Abort(string reason) =>
        throw new TaskAbortedException(string.IsNullOrEmpty(reason) ? $"run {Id} aborted" : reason);

    /// <summary>A copy of the run as it is now; later changes to the run do not show in it.</summary>
    public TaskRun Snapshot()
    {
        lock (_gate)
            return (TaskRun)MemberwiseClone();
    }

    /// <summary>The run as a <see cref="TaskRunEvent"/> of its current state; safe to call while another thread changes it.</summary>
    public TaskRunEvent ToEvent(string worker)
    {
        lock (_gate)
        {
            return new TaskRunEvent
            {
                Id = Id,
                Task = Task,
                State = State,
                Priority = Priority,
                Params = _params.Shown,
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
                Due = Due,
                Progress = Progress,
                ProgressMessage = ProgressMessage,
                Worker = _ranOn ?? worker,
                Queue = Queue,
                WillRetry = WillRetry,
            };
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{NameId} {State.ToWire()}";

    /// <summary>Puts the run in <paramref name="state"/> at <paramref name="at"/>; the lifecycle's alone to call.</summary>
    internal void Enter(TaskState state, DateTimeOffset at, string? error, bool willRetry = false)
    {
        lock (_gate)
        {
            WillRetry = willRetry;
            switch (state)
            {
                case TaskState.Init:
                    break;
                case TaskState.Queued:
                    Queued = at;
                    break;
                case TaskState.Running:
                    Start = at;
                    break;
                default:
                    End = at;
                    break;
            }
            if (error is not null)
                Error = error;
            State = state;
        }
    }

    /// <summary>The run belongs to <paramref name="queue"/>'s worker group, unless it already belongs to one; the lifecycle's alone to call.</summary>
    internal void JoinGroup(string queue)
    {
        lock (_gate)
        {
            if (Queue.Length == 0)
                Queue = queue;
        }
    }

    /// <summary>Notes the progress its task reported; not a state change. The lifecycle's alone to call.</summary>
    internal void Report(double fraction, string? message)
    {
        lock (_gate)
        {
            Progress = fraction;
            ProgressMessage = message;
        }
    }

    /// <summary>Takes the outcome of this run from its final event, when it ran elsewhere; the lifecycle's alone to call.</summary>
    internal void Adopt(TaskRunEvent final)
    {
        lock (_gate)
        {
            State = final.State;
            Queued = final.Queued ?? Queued;
            Start = final.Start;
            End = final.End;
            Error = final.Error;
            WillRetry = final.WillRetry;
            Queue = string.IsNullOrEmpty(final.Queue) ? Queue : final.Queue;
            _retryAttempt = final.RetryAttempt;
            _rateLimitAttempt = final.RateLimitAttempt;
            _ranOn = string.IsNullOrEmpty(final.Worker) ? _ranOn : final.Worker;
        }
    }

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
