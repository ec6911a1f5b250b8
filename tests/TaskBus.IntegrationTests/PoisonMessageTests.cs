using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class PoisonMessageTests(RabbitMqFixture rabbit)
{
    private const string EnvelopeType = "application/vnd.masstransit+json";

    [Fact]
    public async Task PoisonMessagesOnTheTaskQueue_EndInTheErrorQueueWithTheReason_AndTheWorkerKeepsGoing()
    {
        var queue = RabbitMqFixture.NewQueueName("poison");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue);
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var malformed = NewId.NextGuid();
            var unknownTask = NewId.NextGuid();
            var badParams = NewId.NextGuid();

            await rabbit.SendRawAsync(queue, "{ this is not json", EnvelopeType, malformed);
            await rabbit.SendRawAsync(queue, Envelope(unknownTask, "urn:message:Nobody.Contracts:Nothing", """{"x":1}"""), EnvelopeType, unknownTask);
            await rabbit.SendRawAsync(queue, Envelope(badParams, "urn:message:TaskBus.Contracts.Tasks:Add", """{"a":"three","b":4}"""), EnvelopeType, badParams);

            foreach (var id in new[] { malformed, unknownTask, badParams })
            {
                var failure = await watcher.WaitFor(e => e.Id == id.ToString("N") && e.State == TaskState.Failure);
                Assert.False(string.IsNullOrEmpty(failure.Error));
            }

            // The worker keeps consuming.
            var good = NewId.NextGuid();
            await watcher.Bus.Publish(new Add { A = 1, B = 1 }, context => context.MessageId = good);
            Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(good.ToString("N"))).State);

            IReadOnlyList<(string Body, IDictionary<string, object?> Headers, string? MessageId)> errors;
            try
            {
                errors = await rabbit.TakeAsync(queue + "_error", 3);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}; the worker printed:\n{worker.Output}", ex);
            }
            Assert.Equal(3, errors.Count);
            Assert.All(errors, e => Assert.False(string.IsNullOrEmpty(e.Headers["MT-Fault-Message"]?.ToString())));
            Assert.Equal(
                new[] { malformed, unknownTask, badParams }.Select(g => g.ToString()).Order(),
                errors.Select(e => e.MessageId!).Order());
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    private static string Envelope(Guid messageId, string messageType, string message) =>
        $$$"""{"messageId":"{{{messageId}}}","messageType":["{{{messageType}}}"],"message":{{{message}}},"headers":{}}""";
}
