using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Managers;

public sealed class RetryTests : HarnessTest
{
    [Fact]
    public async Task Retryable_FailingOnce_EndsSuccessOnItsFirstRetry_WithInitAndQueuedAgain()
    {
        var run = await Services.Manager.QueueAsync("retryable", new Retryable { FailTimes = 1 });

        var final = await Recorder.WaitFor(e => e.Id == run.Id && e.State == TaskState.Success);

        Assert.Equal(1, final.RetryAttempt);
        Assert.Equal(
            [TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Failure, TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success],
            Recorder.StatesOf(run.Id));
    }

    [Fact]
    public async Task Retryable_FailingMoreThanItsAttempts_EndsFailureAfterThreeRetries()
    {
        var run = await Services.Manager.QueueAsync("retryable", new Retryable { FailTimes = 4 });

        var final = await Recorder.WaitFor(e => e.Id == run.Id && e.State == TaskState.Failure && e.RetryAttempt == 3);

        Assert.Equal("InvalidOperationException: attempt 3 fails (failTimes 4)", final.Error);
        Assert.Equal(4, Recorder.StatesOf(run.Id).Count(s => s == TaskState.Failure));
    }

    [Fact]
    public async Task QueueAndWait_ThroughARetry_ReturnsTheFinalState()
    {
        var run = await Services.Manager.QueueAndWaitAsync("retryable", new Retryable { FailTimes = 2 }, TimeSpan.FromSeconds(30));

        Assert.Equal((TaskState.Success, 2), (run.State, run.RetryAttempt));
    }

    [Fact]
    public async Task Exclusive_QueuedTwice_BothEndSuccess_TheSecondReQueuedWithoutEvents()
    {
        var first = await Services.Manager.QueueAsync("exclusive", new Exclusive { Sleep = 0.2 });
        var second = await Services.Manager.QueueAsync("exclusive", new Exclusive { Sleep = 0.2 });

        var a = await Recorder.WaitFor(e => e.Id == first.Id && e.IsDone);
        var b = await Recorder.WaitFor(e => e.Id == second.Id && e.IsDone);

        Assert.Equal((TaskState.Success, TaskState.Success), (a.State, b.State));
        var requeued = a.RateLimitAttempt > 0 ? a : b;
        Assert.Equal(1, requeued.RateLimitAttempt);
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success], Recorder.StatesOf(requeued.Id));
    }

    [Fact]
    public async Task Dummy_WithoutRetryPolicy_IsNotRetried()
    {
        var run = await Services.Manager.QueueAndWaitAsync("dummy", new Dummy { Sleep = 0, Error = true }, TimeSpan.FromSeconds(30));

        Assert.Equal((TaskState.Failure, 0), (run.State, run.RetryAttempt));
    }
}
