using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using TaskBus.Contracts.Tasks;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Runs;

public sealed class RunLifecycleTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 21, 0, 0, TimeSpan.Zero);
    private static readonly TaskDescriptor Dummy = TaskDescriptor.FromTask(typeof(DummyTask));
    private readonly FakeTimeProvider _time = new(T0);
    private readonly RunHandlers _handlers = new(NullLogger<RunHandlers>.Instance);
    private readonly RecordingSink _sink = new();
    private readonly RunLifecycle _lifecycle;
    private readonly List<TaskState> _handled = [];

    public RunLifecycleTests()
    {
        _lifecycle = new RunLifecycle(_handlers, [_sink], _time, NullLogger<RunLifecycle>.Instance);
        foreach (var state in Enum.GetValues<TaskState>())
            _handlers.Register(state.ToWire(), run => _handled.Add(run.State));
    }

    public ValueTask DisposeAsync() => _handlers.DisposeAsync();

    public static TheoryData<TaskState, TaskState, TaskState[]> ValidTransitions => new()
    {
        { TaskState.Init, TaskState.Queued, [TaskState.Init, TaskState.Queued] },
        { TaskState.Init, TaskState.Running, [TaskState.Queued, TaskState.Running] },
        { TaskState.Init, TaskState.Success, [TaskState.Queued, TaskState.Running, TaskState.Success] },
        { TaskState.Init, TaskState.Failure, [TaskState.Queued, TaskState.Running, TaskState.Failure] },
        { TaskState.Init, TaskState.Aborted, [TaskState.Queued, TaskState.Running, TaskState.Aborted] },
        { TaskState.Init, TaskState.RateLimited, [TaskState.Queued, TaskState.Running, TaskState.RateLimited] },
        { TaskState.Queued, TaskState.Running, [TaskState.Running] },
        { TaskState.Queued, TaskState.Success, [TaskState.Running, TaskState.Success] },
        { TaskState.Queued, TaskState.Failure, [TaskState.Running, TaskState.Failure] },
        { TaskState.Queued, TaskState.Aborted, [TaskState.Running, TaskState.Aborted] },
        { TaskState.Queued, TaskState.RateLimited, [TaskState.Running, TaskState.RateLimited] },
        { TaskState.Running, TaskState.Success, [TaskState.Success] },
        { TaskState.Running, TaskState.Failure, [TaskState.Failure] },
        { TaskState.Running, TaskState.Aborted, [TaskState.Aborted] },
        { TaskState.Running, TaskState.RateLimited, [TaskState.RateLimited] },
        { TaskState.Running, TaskState.Interrupted, [TaskState.Interrupted] },
    };

    // A run is only ever created in init: no transition leads back there.
    public static TheoryData<TaskState, TaskState> InvalidTransitions()
    {
        var valid = ValidTransitions.Select(row => ((TaskState)row[0], (TaskState)row[1])).ToHashSet();
        var data = new TheoryData<TaskState, TaskState>();
        foreach (var from in Enum.GetValues<TaskState>())
        {
            foreach (var to in Enum.GetValues<TaskState>().Where(s => s != TaskState.Init))
            {
                if (from != to && !valid.Contains((from, to)))
                    data.Add(from, to);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ValidTransitions))]
    public void ValidTransition_TellsEachStepInOrder_ToSinksAndHandlers(TaskState from, TaskState to, TaskState[] steps)
    {
        var run = RunIn(from);

        MoveTo(run, to);

        Assert.Equal(to, run.State);
        Assert.Equal(steps, _handled);
        Assert.Equal(steps, _sink.States);
    }

    [Theory]
    [MemberData(nameof(InvalidTransitions))]
    public void InvalidTransition_ThrowsAndChangesNothing(TaskState from, TaskState to)
    {
        var run = RunIn(from);
        var (queued, start, end) = (run.Queued, run.Start, run.End);

        var error = Assert.Throws<TaskRunException>(() => MoveTo(run, to));

        Assert.Equal(
            to == TaskState.Queued ? $"run {run.NameId} is {from.ToWire()}; only a run in init can be queued" : $"invalid state transition {from.ToWire()} -> {to.ToWire()}",
            error.Message);
        Assert.Equal(from, run.State);
        Assert.Equal((queued, start, end), (run.Queued, run.Start, run.End));
        Assert.Empty(_handled);
    }

    [Fact]
    public void InvalidTransitions_CoverEveryPairNotValid()
    {
        var states = Enum.GetValues<TaskState>().Length;
        Assert.Equal((states - 1) * (states - 1) - ValidTransitions.Count, InvalidTransitions().Count);
    }

    [Theory]
    [InlineData(TaskState.Running)]
    [InlineData(TaskState.Success)]
    [InlineData(TaskState.Interrupted)]
    public void TheSameState_IsANoOpWithoutEvent(TaskState state)
    {
        var run = RunIn(state);

        MoveTo(run, state);

        Assert.Equal(state, run.State);
        Assert.Empty(_handled);
    }

    [Fact]
    public void Timestamps_AreSetByTheirTransitions_OnTheClock()
    {
        var run = NewRun();
        Assert.Null(run.InQueue);

        _lifecycle.Queue(run);
        _time.Advance(TimeSpan.FromMilliseconds(250));
        _lifecycle.Start(run);
        Assert.Equal(TimeSpan.FromMilliseconds(250), run.InQueue);
        Assert.Null(run.Duration);
        Assert.Null(run.Total);

        _time.Advance(TimeSpan.FromMilliseconds(1.2345));
        _lifecycle.Succeed(run);

        Assert.Equal(T0, run.Queued);
        Assert.Equal(T0.AddMilliseconds(250), run.Start);
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(250) + TimeSpan.FromMilliseconds(1.2345), run.End);
        Assert.Equal(1.23, run.DurationMs);
        Assert.Equal(run.End - T0, run.Total);
        Assert.True(run.IsDone);
        Assert.False(run.IsFailure);
    }

    [Fact]
    public void PassingThroughStates_UsesOneTimeForEveryStep_AndTheErrorIsTheFinalStepsOnly()
    {
        var run = NewRun();
        var errors = new List<string?>();
        _handlers.Register("running.errors", r => errors.Add(r.Error));
        _handlers.Register("failure.errors", r => errors.Add(r.Error));

        _lifecycle.Fail(run, "InvalidOperationException: no");

        Assert.Equal((T0, T0, T0), (run.Queued!.Value, run.Start!.Value, run.End!.Value));
        Assert.True(run.IsFailure);
        Assert.Equal([null, "InvalidOperationException: no"], errors);
    }

    [Fact]
    public void Handlers_GetSnapshotsThatLaterChangesDoNotTouch()
    {
        var snapshots = new List<TaskRun>();
        _handlers.Register("running.snapshots", snapshots.Add);
        var run = NewRun();

        _lifecycle.Succeed(run);

        var snapshot = Assert.Single(snapshots);
        Assert.Equal(TaskState.Running, snapshot.State);
        Assert.Null(snapshot.End);
        Assert.NotSame(run, snapshot);
    }

    [Fact]
    public void SinksSeeTheLiveRun_AndInitOnlyWhenTheyAskForIt()
    {
        var quiet = new RecordingSink { WantsInit = false };
        var lifecycle = new RunLifecycle(_handlers, [quiet], _time, NullLogger<RunLifecycle>.Instance);
        var run = NewRun();

        lifecycle.Queue(run);

        Assert.Equal([TaskState.Queued], quiet.States);
        Assert.Same(run, Assert.Single(quiet.Runs));
    }

    [Fact]
    public void Retry_IsANewRoundOfTheSameRun_ToldInitAndQueued_WithoutItsTick()
    {
        var run = RunFactory.New(Dummy, new Dummy { Sleep = 0 }, Guid.NewGuid(), scheduledFor: T0);
        _lifecycle.Fail(run, "InvalidOperationException: no");
        _handled.Clear();
        _time.Advance(TimeSpan.FromSeconds(1));

        var next = _lifecycle.Retry(run);

        Assert.Equal((run.Id, 1, TaskState.Queued, T0.AddSeconds(1)), (next.Id, next.RetryAttempt, next.State, next.Queued!.Value));
        Assert.Null(next.ScheduledFor);
        Assert.Equal([TaskState.Init, TaskState.Queued], _handled);
    }

    [Fact]
    public void Postpone_IsASilentQueuedCopy_WithTheNextRateLimitAttemptAndTheSameQueuedTime()
    {
        var run = RunIn(TaskState.Queued);

        var copy = _lifecycle.Postpone(run);

        Assert.Equal((run.Id, 1, 0, TaskState.Queued, run.Queued), (copy.Id, copy.RateLimitAttempt, copy.RetryAttempt, copy.State, copy.Queued));
        Assert.Empty(_handled);
    }

    [Fact]
    public void Receive_RebuildsARunWithItsHeaderSilently_AndGivesAPlainPublishItsInitAndQueued()
    {
        var header = new RunHeader(T0, TaskPriority.High, 2, 1, "parent", "root", null, "dummy");
        var id = Guid.NewGuid();

        var sent = _lifecycle.Receive(id, Dummy, header, new Dummy(), redelivered: true, sent: null);
        Assert.Equal((TaskState.Queued, T0, TaskPriority.High, 2, 1, "parent", "root", true), (sent.State, sent.Queued!.Value, sent.Priority, sent.RetryAttempt, sent.RateLimitAttempt, sent.FromRunId, sent.RootRunId, sent.Redelivered));
        Assert.Empty(_handled);

        var published = _lifecycle.Receive(Guid.NewGuid(), Dummy, null, new Dummy(), redelivered: false, sent: T0.AddSeconds(-1));
        Assert.Equal((TaskState.Queued, T0.AddSeconds(-1), Dummy.Priority), (published.State, published.Queued!.Value, published.Priority));
        Assert.Equal([TaskState.Init, TaskState.Queued], _handled);
    }

    [Fact]
    public void EndingUnrun_GoesStraightFromQueuedToTheFinalState()
    {
        var header = new RunHeader(T0, TaskPriority.Low, 0, 0, "", "", null, "dummy");
        var notQueued = RunIn(TaskState.Queued);

        _lifecycle.Removed(Guid.NewGuid(), header, null, "removed from queue q (queue cleared)");
        _lifecycle.Unprocessable(Guid.NewGuid(), null, "SerializationException: not JSON");
        _lifecycle.NotQueued(notQueued, "the broker is gone");

        Assert.Equal([TaskState.Aborted, TaskState.Failure, TaskState.Failure], _handled);
        Assert.Equal("unknown", _sink.Runs[1].Task);
        Assert.Equal("the broker is gone", notQueued.Error);
    }

    [Fact]
    public void Abort_ThrowsWithTheReason()
    {
        var run = NewRun();

        var error = Assert.Throws<TaskAbortedException>(() => run.Abort("no more"));

        Assert.Equal("no more", error.Message);
    }

    [Fact]
    public void NameIdAndEvent_CarryTheRun()
    {
        var run = NewRun();
        _lifecycle.Start(run);

        var evt = run.ToEvent("host-1");

        Assert.Equal($"dummy.{run.Id}", run.NameId);
        Assert.Matches("^[0-9a-f]{32}$", run.Id);
        Assert.Equal(run.Id, evt.Id);
        Assert.Equal(TaskState.Running, evt.State);
        Assert.Equal(0.5, evt.Params!.Value.GetProperty("sleep").GetDouble());
        Assert.Equal("host-1", evt.Worker);
    }

    private static TaskRun NewRun() => RunFactory.New(Dummy, new Dummy { Sleep = 0.5 }, Guid.NewGuid());

    private void MoveTo(TaskRun run, TaskState state)
    {
        switch (state)
        {
            case TaskState.Queued:
                _lifecycle.Queue(run);
                break;
            case TaskState.Running:
                _lifecycle.Start(run);
                break;
            case TaskState.Success:
                _lifecycle.Succeed(run);
                break;
            case TaskState.Failure:
                _lifecycle.Fail(run, "InvalidOperationException: no");
                break;
            case TaskState.Aborted:
                _lifecycle.Abort(run, "stop");
                break;
            case TaskState.RateLimited:
                _lifecycle.RateLimit(run);
                break;
            case TaskState.Interrupted:
                _lifecycle.Interrupt(run, "interrupted by shutdown");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(state), state, null);
        }
    }

    private TaskRun RunIn(TaskState state)
    {
        var run = NewRun();
        if (state == TaskState.Interrupted)
            _lifecycle.Start(run);
        if (state != TaskState.Init)
            MoveTo(run, state);
        _handled.Clear();
        _sink.Clear();
        return run;
    }

    private sealed class RecordingSink : IRunSink
    {
        public bool WantsInit { get; init; } = true;

        public bool WantsEvent => false;

        public List<TaskRun> Runs { get; } = [];

        public List<TaskState> States { get; } = [];

        public void OnChanged(TaskRun run, TaskRunEvent? change)
        {
            Runs.Add(run);
            States.Add(run.State);
        }

        public void Clear()
        {
            Runs.Clear();
            States.Clear();
        }
    }
}
