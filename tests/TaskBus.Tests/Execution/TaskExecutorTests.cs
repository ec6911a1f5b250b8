using Microsoft.Extensions.Time.Testing;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Execution;

public sealed class TimeoutTests
{
    [Fact]
    public async Task RunOutlivingItsTimeout_EndsFailureWithATimeoutError_OnAFakeClock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var services = await TestServices.StartAsync(time: time);
        var recorder = new RunRecorder(services.Manager);

        var run = await services.Manager.QueueAsync("fast", new Fast { Sleep = 5 });
        await recorder.WaitFor(e => e.Id == run.Id && e.State == TaskState.Running);
        time.Advance(TimeSpan.FromSeconds(2));

        var final = await recorder.WaitForFinal(run.Id);
        Assert.Equal(TaskState.Failure, final.State);
        Assert.Equal("TimeoutException: task fast timed out after 2 s", final.Error);
        Assert.NotNull(final.End);
        // The slot is given back when the consumer is done with the message, just after the final state.
        Assert.True(await services.Harness.Consumed.Any<Fast>(x => x.Context.MessageId == run.Guid));
        Assert.Equal(0, services.Running.CountOf("fast"));
    }
}
