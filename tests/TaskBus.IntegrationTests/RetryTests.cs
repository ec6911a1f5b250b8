using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class RetryTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task RetryWithATenSecondWait_SurvivesEveryWorkerStopping_AndEndsSuccessOnItsFirstRetry()
    {
        var queue = RabbitMqFixture.NewQueueName("retry");
        string[] retryIn10s = ["--TaskBus:Retries:retryable:Wait=00:00:10"];
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            string runId;
            await using (var worker = await AppProcess.StartWorkerAsync(rabbit, queue, retryIn10s))
            {
                var id = NewId.NextGuid();
                await watcher.Bus.Publish(new Retryable { FailTimes = 1 }, c => c.MessageId = id);
                runId = id.ToString("N");
                await watcher.WaitFor(e => e.Id == runId && e.State == TaskState.Failure && e.RetryAttempt == 0);
                var retryQueued = await watcher.WaitFor(e => e.Id == runId && e.State == TaskState.Queued && e.RetryAttempt == 1);
                Assert.NotNull(retryQueued.Queued);
                // Every worker stops while the retry waits.
                Assert.Equal(0, await worker.StopAsync());
            }
            Assert.Equal(1u, await rabbit.MessageCountAsync(queue + "_delay_10000"));

            await using var next = await AppProcess.StartWorkerAsync(rabbit, queue, retryIn10s);
            var final = await watcher.WaitFor(e => e.Id == runId && e.State.IsFinished() && e.RetryAttempt == 1);

            Assert.Equal(TaskState.Success, final.State);
            Assert.Equal(1, final.RetryAttempt);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
            await rabbit.DeleteQueuesAsync(queue + "_delay_10000");
        }
    }
}
