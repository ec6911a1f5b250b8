using MassTransit;
using TaskBus.Contracts.Tasks;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.MassTransit;

/// <summary>A task's record published with plain MassTransit: the publish observer and the consumer shell give it a run.</summary>
public sealed class TaskPublishObserverTests : HarnessTest
{
    [Fact]
    public async Task PlainPublish_OfATaskMessage_IsARunWithTheMessageIdAndAllItsEvents()
    {
        var bus = Services.Harness.Bus;
        var messageId = NewId.NextGuid();

        await bus.Publish(new Add { A = 1, B = 2 }, c => c.MessageId = messageId);

        var final = await Recorder.WaitForFinal(messageId.ToString("N"));
        Assert.Equal(TaskState.Success, final.State);
        Assert.Equal("add", final.Task);
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success], Recorder.StatesOf(final.Id));
    }
}
