using Microsoft.Extensions.Logging.Abstractions;
using TaskBus.Contracts.Tasks;

namespace TaskBus.Tests.Runs;

public sealed class RunHandlersTests : IAsyncDisposable
{
    private readonly RunHandlers _handlers = new(NullLogger<RunHandlers>.Instance);

    public ValueTask DisposeAsync() => _handlers.DisposeAsync();

    [Fact]
    public void RegisterHandler_ReturnsTheHandlerItReplaced()
    {
        Action<TaskRun> first = _ => { };
        Action<TaskRun> second = _ => { };

        Assert.Null(_handlers.Register("running.audit", first));
        Assert.Same(first, _handlers.Register("running.audit", second));
        Assert.Same(second, _handlers.Unregister("running.audit"));
    }

    [Fact]
    public void UnregisterHandler_ReturnsTheHandlerRemoved_OrNull()
    {
        Action<TaskRun> handler = _ => { };
        _handlers.Register("success", handler);

        Assert.Same(handler, _handlers.Unregister("success"));
        Assert.Null(_handlers.Unregister("success"));
        Assert.False(_handlers.Any(TaskState.Success));
    }

    [Fact]
    public void Handle_CallsEveryHandlerOfTheStateInOrder()
    {
        var calls = new List<string>();
        _handlers.Register("success", _ => calls.Add("plain"));
        _handlers.Register("success.a", _ => calls.Add("a"));
        _handlers.Register("success.b", _ => calls.Add("b"));
        _handlers.Register("failure.c", _ => calls.Add("c"));

        _handlers.Handle(Run(TaskState.Success));

        Assert.Equal(["plain", "a", "b"], calls);
    }

    [Fact]
    public void Handle_AHandlerThatThrows_DoesNotStopTheOthers()
    {
        var called = false;
        _handlers.Register("success.bad", _ => throw new InvalidOperationException("boom"));
        _handlers.Register("success.good", _ => called = true);

        _handlers.Handle(Run(TaskState.Success));

        Assert.True(called);
    }

    [Theory]
    [InlineData("rate_limited.x", TaskState.RateLimited)]
    [InlineData("RUNNING", TaskState.Running)]
    public void RegisterHandler_AcceptsWireNames(string name, TaskState state)
    {
        var called = 0;
        _handlers.Register(name, _ => called++);

        _handlers.Handle(Run(state));

        Assert.Equal(1, called);
    }

    [Theory]
    [InlineData("finished")]
    [InlineData("")]
    [InlineData(".tag")]
    public void RegisterHandler_UnknownState_Throws(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => _handlers.Register(name, _ => { }));

    [Fact]
    public async Task AsyncHandlers_GetOnlyTheSnapshotsOfTheirState_OneAtATime_InOrder()
    {
        var seen = new List<TaskRun>();
        var two = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _handlers.RegisterAsync("running.test", async (run, _) =>
        {
            await Task.Yield();
            lock (seen)
                seen.Add(run);
            if (seen.Count == 2)
                two.TrySetResult();
        });
        Assert.True(_handlers.Any(TaskState.Running));
        Assert.False(_handlers.Any(TaskState.Success));

        var first = Run(TaskState.Running);
        var second = Run(TaskState.Running);
        _handlers.Handle(first);
        _handlers.Handle(Run(TaskState.Success));
        _handlers.Handle(second);

        await two.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([first, second], seen);
    }

    // A snapshot in a state, as the lifecycle hands it to the handlers.
    private static TaskRun Run(TaskState state)
    {
        var run = new TaskRun(Guid.NewGuid(), "noop", TaskPriority.Medium, new Noop(), DateTimeOffset.UnixEpoch);
        run.Enter(state, DateTimeOffset.UnixEpoch, null);
        return run;
    }
}
