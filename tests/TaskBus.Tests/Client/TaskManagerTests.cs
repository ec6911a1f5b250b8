using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using TaskBus.Contracts.Tasks;
using TaskBus.Storage;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Client;

public sealed class TaskManagerTests : HarnessTest
{
    [Fact]
    public async Task QueueAsync_DispatchesInitThenQueuedThenSendsToTheQueue_AndTheConsumerRunsIt()
    {
        var run = await Services.Manager.QueueAsync("add", new Dictionary<string, object?> { ["a"] = 3, ["b"] = 4 });

        Assert.Equal(TaskState.Queued, run.State);
        var final = await Recorder.WaitForFinal(run.Id);
        Assert.Equal(TaskState.Success, final.State);
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success], Recorder.StatesOf(run.Id));
        Assert.True(await Services.Harness.Consumed.Any<Add>(x => x.Context.MessageId == run.Guid));
        // A queued run is a command for the group's queue: sent, never published.
        Assert.True(await Services.Harness.Sent.Any<Add>(x => x.Context.MessageId == run.Guid && x.Context.DestinationAddress!.AbsolutePath.EndsWith("/taskbus-tasks", StringComparison.Ordinal)));
        Assert.False(await Services.Harness.Published.Any<Add>(x => x.Context.MessageId == run.Guid));
    }

    [Fact]
    public async Task QueueAsync_PublishesEveryStateChangeAsATaskRunEvent()
    {
        var run = await Services.Manager.QueueAsync("noop");
        await Recorder.WaitForFinal(run.Id);

        foreach (var state in new[] { TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success })
            Assert.True(await Services.Harness.Published.Any<TaskRunEvent>(x => x.Context.Message.Id == run.Id && x.Context.Message.State == state), state.ToWire());
    }

    [Fact]
    public async Task QueueAsync_UnknownTaskOrBadParams_ThrowsAndPublishesNothing()
    {
        await Assert.ThrowsAsync<UnknownTaskException>(() => Services.Manager.QueueAsync("nosuch"));
        await Assert.ThrowsAsync<TaskParamsException>(() => Services.Manager.QueueAsync("add", new Dictionary<string, object?> { ["a"] = 1 }));

        Assert.False(await Services.Harness.Published.Any<Add>());
        Assert.Empty(Recorder.Events);
    }

    [Fact]
    public async Task QueueAndWaitAsync_Abort_ReturnsAborted()
    {
        var run = await Services.Manager.QueueAndWaitAsync("dummy", new Dummy { Abort = true, Sleep = 0 }, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskState.Aborted, run.State);
        Assert.Equal("dummy aborted", run.Error);
        Assert.NotNull(run.End);
    }

    [Fact]
    public async Task QueueAndWaitAsync_Error_ReturnsFailureWithTheException()
    {
        var run = await Services.Manager.QueueAndWaitAsync("dummy", new Dummy { Error = true, Sleep = 0 }, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskState.Failure, run.State);
        Assert.Equal("InvalidOperationException: dummy error", run.Error);
    }

    [Fact]
    public async Task QueueAndWaitAsync_NotFinishedInTime_ThrowsTimeout()
    {
        var gate = Gates.New();
        try
        {
            var error = await Assert.ThrowsAsync<TimeoutException>(() =>
                Services.Manager.QueueAndWaitAsync("held", new Held { Gate = gate }, TimeSpan.FromMilliseconds(200)));
            Assert.StartsWith("Run held.", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Gates.Open(gate);
        }
    }

    [Fact]
    public async Task ExecuteAsync_RunsInline()
    {
        var run = await Services.Manager.ExecuteAsync("dummy", new Dummy { Sleep = 0.2 });

        Assert.Equal(TaskState.Success, run.State);
        Assert.NotNull(run.End);
        Assert.False(await Services.Harness.Published.Any<Dummy>());
    }

    [Fact]
    public async Task ExecuteAsync_Error_ReachesTheCaller()
    {
        var run = Services.Manager.CreateTaskRun("dummy", new Dummy { Error = true, Sleep = 0 });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Services.Manager.ExecuteAsync(run));

        Assert.Equal("dummy error", error.Message);
        Assert.Equal(TaskState.Failure, run.State);
    }

    [Fact]
    public async Task ExecuteAsync_Abort_ReturnsAborted()
    {
        var run = await Services.Manager.ExecuteAsync("dummy", new Dummy { Abort = true, Sleep = 0 });

        Assert.Equal(TaskState.Aborted, run.State);
    }

    [Fact]
    public async Task RunLock_InProcessWithTheMemoryStore_WaitsOrTimesOut_AndIsReleasedWhenTheRunFails()
    {
        var holding = Services.Manager.ExecuteAsync("locked", new Locked { Ms = 60_000 });
        await Recorder.WaitFor(r => r.Task == "locked" && r.State == TaskState.Running);

        var refused = Services.Manager.CreateTaskRun("locked", new Locked { Ms = 0, LockTimeout = 0.2 });
        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => Services.Manager.ExecuteAsync(refused));
        Assert.Equal("lock tasks:locked:shared was not free within 0.2 s", timeout.Message);
        Assert.False(holding.IsCompleted);
        // Another name is another lock.
        Assert.Equal(TaskState.Success, (await Services.Manager.ExecuteAsync("locked", new Locked { Name = "other", Ms = 0, LockTimeout = 5 })).State);

        // A run that fails holding a lock gives it back.
        await Assert.ThrowsAsync<InvalidOperationException>(() => Services.Manager.ExecuteAsync("locked", new Locked { Name = "failing", Ms = 0, Error = true }));
        Assert.Equal(TaskState.Success, (await Services.Manager.ExecuteAsync("locked", new Locked { Name = "failing", Ms = 0, LockTimeout = 5 })).State);
    }

    [Fact]
    public async Task ASecondRun_WhileTheOnlyRunATaskAllowsIsRunning_EndsRateLimited_AndGivesNothingBack()
    {
        var gate = Gates.New();
        var first = await Services.Manager.QueueAsync("held", new Held { Gate = gate });
        await Recorder.WaitFor(e => e.Id == first.Id && e.State == TaskState.Running);

        var second = await Services.Manager.QueueAsync("held", new Held { Gate = gate });
        var refused = await Recorder.WaitForFinal(second.Id);
        Gates.Open(gate);
        var done = await Recorder.WaitForFinal(first.Id);

        Assert.Equal((TaskState.RateLimited, TaskState.Success), (refused.State, done.State));
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.RateLimited], Recorder.StatesOf(second.Id));
        // The place is given back when the consumer is done with the message, just after the final state.
        Assert.True(await Services.Harness.Consumed.Any<Held>(x => x.Context.MessageId == first.Guid));
        Assert.Equal(0, Services.Running.CountOf("held"));
    }

    [Fact]
    public async Task AsyncHandler_SeesASnapshotInItsState_AndUnregisterReturnsIt()
    {
        var seen = new TaskCompletionSource<TaskRun>(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<TaskRun, CancellationToken, Task> handler = (run, _) =>
        {
            seen.TrySetResult(run);
            return Task.CompletedTask;
        };
        Assert.Null(Services.Manager.RegisterAsyncHandler("running.test", handler));

        var queued = await Services.Manager.QueueAsync("dummy", new Dummy { Sleep = 0 });
        var snapshot = await seen.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(queued.Id, snapshot.Id);
        Assert.Equal(TaskState.Running, snapshot.State);
        Assert.Same(handler, Services.Manager.UnregisterAsyncHandler("running.test"));
        Assert.Null(Services.Manager.UnregisterAsyncHandler("running.test"));
    }

    [Fact]
    public async Task CancelRunning_InterruptsRunsInProgress()
    {
        var run = await Services.Manager.QueueAsync("dummy", new Dummy { Sleep = 100 });
        await Recorder.WaitFor(e => e.Id == run.Id && e.State == TaskState.Running);

        Services.Processor.CancelRunning();

        var final = await Recorder.WaitForFinal(run.Id);
        Assert.Equal(TaskState.Interrupted, final.State);
        Assert.NotNull(final.End);
    }

    [Fact]
    public async Task Status_CountsRunsInProgress()
    {
        var run = await Services.Manager.QueueAsync("dummy", new Dummy { Sleep = 100 });
        await Recorder.WaitFor(e => e.Id == run.Id && e.State == TaskState.Running);

        var status = Services.Manager.GetStatus();

        Assert.Equal("task_consumer", status.Type);
        Assert.Equal(1, status.NumConcurrentTasks);
        Assert.Equal(1, status.Running["dummy"]);
        Services.Processor.CancelRunning();
        await Recorder.WaitForFinal(run.Id);
    }

    [Fact]
    public async Task DisabledTask_QueuedWithHighPriority_EndsAbortedWithoutRunning_AndKeepsItsParams()
    {
        var store = Services.Provider.GetRequiredService<ITaskStore>();
        await store.SetEnabledAsync("add", false, CancellationToken.None);

        var run = await Services.Manager.QueueAsync("add", new Add { A = 1, B = 2 }, TaskPriority.High);
        var final = await Recorder.WaitForFinal(run.Id);

        Assert.Equal(TaskState.Aborted, final.State);
        Assert.NotNull(final.End);
        Assert.Equal(new Add { A = 1, B = 2 }, final.Params);
        Assert.Equal(TaskPriority.High, final.Priority);
        Assert.Equal("task add is disabled", final.Error);
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Aborted], Recorder.StatesOf(run.Id));
    }
}
