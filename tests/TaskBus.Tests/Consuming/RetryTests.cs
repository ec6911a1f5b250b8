using Microsoft.Extensions.Time.Testing;
using TaskBus.Consuming;
using TaskBus.Contracts.Tasks;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Consuming;

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
    public async Task OverTheLimitWithRateLimitRetry_TheSecondRunIsQueuedAgainWithoutEvents_AndSucceedsOnceTheFirstEnds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var services = await TestServices.StartAsync(time: time);
        var recorder = new RunRecorder(services.Manager);
        var gate = Gates.New();

        var first = await services.Manager.QueueAsync("held_retry", new HeldRetry { Gate = gate });
        await recorder.WaitFor(e => e.Id == first.Id && e.State == TaskState.Running);
        var second = await services.Manager.QueueAsync("held_retry", new HeldRetry { Gate = gate });
        // Its first delivery is over the limit: its copy waits (on the fake clock) and it has no event past queued.
        Assert.True(await services.Harness.Consumed.Any<HeldRetry>(x => x.Context.MessageId == second.Guid));
        Assert.Equal([TaskState.Init, TaskState.Queued], recorder.StatesOf(second.Id));

        Gates.Open(gate);
        Assert.Equal(TaskState.Success, (await recorder.WaitForFinal(first.Id)).State);
        time.Advance(RunProcessor.MinRateLimitDelay);

        var final = await recorder.WaitForFinal(second.Id);
        Assert.Equal((TaskState.Success, 1), (final.State, final.RateLimitAttempt));
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success], recorder.StatesOf(second.Id));
    }

    [Fact]
    public async Task Dummy_WithoutRetryPolicy_IsNotRetried()
    {
        var run = await Services.Manager.QueueAndWaitAsync("dummy", new Dummy { Sleep = 0, Error = true }, TimeSpan.FromSeconds(30));

        Assert.Equal((TaskState.Failure, 0), (run.State, run.RetryAttempt));
    }
}
