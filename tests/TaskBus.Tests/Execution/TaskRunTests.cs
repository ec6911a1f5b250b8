using Microsoft.Extensions.Time.Testing;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Events;

namespace TaskBus.Tests.Execution;

public class TaskRunTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 21, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly TaskRunDispatcher _dispatcher = new();
    private readonly List<TaskState> _dispatched = [];

    public TaskRunTests()
    {
        foreach (var state in Enum.GetValues<TaskState>())
            _dispatcher.RegisterHandler(state.ToWire(), run => _dispatched.Add(run.State));
    }

    public static TheoryData<TaskState, TaskState, TaskState[]> ValidTransitions => new()
    {
        { TaskState.Init, TaskState.Queued, [TaskState.Queued] },
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

    public static TheoryData<TaskState, TaskState> InvalidTransitions()
    {
        var valid = ValidTransitions.Select(row => ((TaskState)row[0], (TaskState)row[1])).ToHashSet();
        var data = new TheoryData<TaskState, TaskState>();
        foreach (var from in Enum.GetValues<TaskState>())
        {
            foreach (var to in Enum.GetValues<TaskState>())
            {
                if (from != to && !valid.Contains((from, to)))
                    data.Add(from, to);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ValidTransitions))]
    public void SetState_ValidTransition_DispatchesEachStepInOrder(TaskState from, TaskState to, TaskState[] steps)
    {
        var run = RunIn(from);

        run.SetState(to);

        Assert.Equal(to, run.State);
        Assert.Equal(steps, _dispatched);
    }

    [Theory]
    [MemberData(nameof(InvalidTransitions))]
    public void SetState_InvalidTransition_ThrowsAndChangesNothing(TaskState from, TaskState to)
    {
        var run = RunIn(from);
        var (queued, start, end) = (run.Queued, run.Start, run.End);

        var error = Assert.Throws<TaskRunException>(() => run.SetState(to));

        Assert.Equal($"invalid state transition {from.ToWire()} -> {to.ToWire()}", error.Message);
        Assert.Equal(from, run.State);
        Assert.Equal((queued, start, end), (run.Queued, run.Start, run.End));
        Assert.Empty(_dispatched);
    }

    [Fact]
    public void InvalidTransitions_CoverEveryPairNotValid()
    {
        var states = Enum.GetValues<TaskState>().Length;
        Assert.Equal(states * (states - 1) - ValidTransitions.Count, InvalidTransitions().Count);
    }

    [Theory]
    [InlineData(TaskState.Init)]
    [InlineData(TaskState.Queued)]
    [InlineData(TaskState.Running)]
    [InlineData(TaskState.Success)]
    [InlineData(TaskState.Interrupted)]
    public void SetState_SameState_IsANoOpWithoutEvent(TaskState state)
    {
        var run = RunIn(state);

        run.SetState(state);

        Assert.Equal(state, run.State);
        Assert.Empty(_dispatched);
    }

    [Fact]
    public void Timestamps_AreSetByTheirTransitions()
    {
        var run = NewRun();
        Assert.Null(run.InQueue);

        run.SetState(TaskState.Queued);
        _time.Advance(TimeSpan.FromMilliseconds(250));
        run.SetState(TaskState.Running);
        Assert.Equal(TimeSpan.FromMilliseconds(250), run.InQueue);
        Assert.Null(run.Duration);
        Assert.Null(run.Total);

        _time.Advance(TimeSpan.FromMilliseconds(1.2345));
        run.SetState(TaskState.Success);

        Assert.Equal(T0, run.Queued);
        Assert.Equal(T0.AddMilliseconds(250), run.Start);
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(250) + TimeSpan.FromMilliseconds(1.2345), run.End);
        Assert.Equal(1.23, run.DurationMs);
        Assert.Equal(run.End - T0, run.Total);
        Assert.True(run.IsDone);
        Assert.False(run.IsFailure);
    }

    [Fact]
    public void SetState_PassingThroughStates_UsesOneTimeForEveryStep()
    {
        var run = NewRun();

        run.SetState(TaskState.Failure);

        Assert.Equal(T0, run.Queued);
        Assert.Equal(T0, run.Start);
        Assert.Equal(T0, run.End);
        Assert.True(run.IsFailure);
    }

    [Fact]
    public void Dispatch_GivesSnapshotsThatLaterChangesDoNotTouch()
    {
        var snapshots = new List<TaskRun>();
        _dispatcher.RegisterHandler("running.snapshots", snapshots.Add);
        var run = NewRun();

        run.SetState(TaskState.Success);

        var snapshot = Assert.Single(snapshots);
        Assert.Equal(TaskState.Running, snapshot.State);
        Assert.Null(snapshot.End);
        Assert.NotSame(run, snapshot);
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
        run.SetState(TaskState.Running);

        var evt = run.ToEvent("host-1");

        Assert.Equal($"dummy.{run.Id}", run.NameId);
        Assert.Matches("^[0-9a-f]{32}$", run.Id);
        Assert.Equal(run.Id, evt.Id);
        Assert.Equal(TaskState.Running, evt.State);
        Assert.Equal(0.5, evt.Params!.Value.GetProperty("sleep").GetDouble());
        Assert.Equal("host-1", evt.Worker);
    }

    private TaskRun NewRun() => new(Guid.NewGuid(), "dummy", TaskPriority.Medium, new Dummy { Sleep = 0.5 }, _time, _dispatcher);

    private TaskRun RunIn(TaskState state)
    {
        var run = NewRun();
        if (state == TaskState.Interrupted)
            run.SetState(TaskState.Running);
        run.SetState(state);
        _dispatched.Clear();
        return run;
    }
}
