using Microsoft.Extensions.Time.Testing;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Events;

namespace TaskBus.Tests.Events;

public class TaskRunDispatcherTests
{
    private readonly TaskRunDispatcher _dispatcher = new();

    [Fact]
    public void RegisterHandler_ReturnsTheHandlerItReplaced()
    {
        Action<TaskRun> first = _ => { };
        Action<TaskRun> second = _ => { };

        Assert.Null(_dispatcher.RegisterHandler("running.audit", first));
        Assert.Same(first, _dispatcher.RegisterHandler("running.audit", second));
        Assert.Same(second, _dispatcher.GetHandler("running.audit"));
    }

    [Fact]
    public void UnregisterHandler_ReturnsTheHandlerRemoved_OrNull()
    {
        Action<TaskRun> handler = _ => { };
        _dispatcher.RegisterHandler("success", handler);

        Assert.Same(handler, _dispatcher.UnregisterHandler("success"));
        Assert.Null(_dispatcher.UnregisterHandler("success"));
        Assert.Equal(0, _dispatcher.Dispatch(Run(TaskState.Success)));
    }

    [Fact]
    public void Dispatch_CallsEveryHandlerOfTheStateAndCountsThem()
    {
        var calls = new List<string>();
        _dispatcher.RegisterHandler("success", _ => calls.Add("plain"));
        _dispatcher.RegisterHandler("success.a", _ => calls.Add("a"));
        _dispatcher.RegisterHandler("success.b", _ => calls.Add("b"));
        _dispatcher.RegisterHandler("failure.c", _ => calls.Add("c"));

        var count = _dispatcher.Dispatch(Run(TaskState.Success));

        Assert.Equal(3, count);
        Assert.Equal(["plain", "a", "b"], calls);
    }

    [Fact]
    public void Dispatch_AHandlerThatThrows_DoesNotStopTheOthers()
    {
        var called = false;
        _dispatcher.RegisterHandler("success.bad", _ => throw new InvalidOperationException("boom"));
        _dispatcher.RegisterHandler("success.good", _ => called = true);

        Assert.Equal(2, _dispatcher.Dispatch(Run(TaskState.Success)));
        Assert.True(called);
    }

    [Theory]
    [InlineData("rate_limited.x", TaskState.RateLimited)]
    [InlineData("RUNNING", TaskState.Running)]
    public void RegisterHandler_AcceptsWireNames(string name, TaskState state)
    {
        var called = 0;
        _dispatcher.RegisterHandler(name, _ => called++);

        _dispatcher.Dispatch(Run(state));

        Assert.Equal(1, called);
    }

    [Theory]
    [InlineData("finished")]
    [InlineData("")]
    [InlineData(".tag")]
    public void RegisterHandler_UnknownState_Throws(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => _dispatcher.RegisterHandler(name, _ => { }));

    private static TaskRun Run(TaskState state)
    {
        var run = new TaskRun(Guid.NewGuid(), "noop", TaskPriority.Medium, new Noop(), new FakeTimeProvider(), null);
        run.SetState(state);
        return run;
    }
}
