using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class PoisonMessageTests(RabbitMqFixture rabbit)
{
    private const string EnvelopeType = "application/vnd.masstransit+json";

    /// <summary>
    /// Every way a run reaches the error queue: a body that is no message, a type no task takes, params that do not fit
    /// the record, and a fault in the consume path itself (here the store refuses a statement: its slots table is
    /// gone). Each ends with a failure event and a failure in the history, with the reason, and the worker goes on.
    /// </summary>
    [Fact]
    public async Task EveryPathToTheErrorQueue_EndsTheRunFailureWithTheReason_InEventsAndHistory_AndTheWorkerKeepsGoing()
    {
        var queue = RabbitMqFixture.NewQueueName("poison");
        var postgres = new PostgresFixture();
        await postgres.InitializeAsync();
        await using var dropDatabase = new AsyncCleanup(postgres.DisposeAsync);
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(
                rabbit, queue, "--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={postgres.ConnectionString}");
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var malformed = NewId.NextGuid();
            var unknownTask = NewId.NextGuid();
            var badParams = NewId.NextGuid();
            var consumeFault = NewId.NextGuid();
            await using (var connection = new Npgsql.NpgsqlConnection(postgres.ConnectionString))
            {
                await connection.OpenAsync();
                await using var drop = new Npgsql.NpgsqlCommand("DROP TABLE taskbus_slots", connection);
                await drop.ExecuteNonQueryAsync();
            }

            await rabbit.SendRawAsync(queue, "{ this is not json", EnvelopeType, malformed);
            await rabbit.SendRawAsync(queue, Envelope(unknownTask, "urn:message:Nobody.Contracts:Nothing", """{"x":1}"""), EnvelopeType, unknownTask);
            await rabbit.SendRawAsync(queue, Envelope(badParams, "urn:message:TaskBus.Contracts.Tasks:Add", """{"a":"three","b":4}"""), EnvelopeType, badParams);

            // dummy has a concurrency limit: its run needs a slot from the store.
            await watcher.Bus.Publish(new Dummy { Sleep = 0 }, context => context.MessageId = consumeFault);

            Guid[] poisoned = [malformed, unknownTask, badParams, consumeFault];
            await using var history = new TaskBus.Postgres.PostgresTaskStore(postgres.ConnectionString);
            foreach (var id in poisoned)
            {
                var failure = await watcher.WaitFor(e => e.Id == id.ToString("N") && e.State == TaskState.Failure);
                Assert.False(string.IsNullOrEmpty(failure.Error));
            }
            Assert.Contains("taskbus_slots", (await watcher.WaitForFinal(consumeFault.ToString("N"))).Error, StringComparison.Ordinal);

            // The worker keeps consuming.
            var good = NewId.NextGuid();
            await watcher.Bus.Publish(new Add { A = 1, B = 1 }, context => context.MessageId = good);
            Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(good.ToString("N"))).State);

            IReadOnlyList<(string Body, IDictionary<string, object?> Headers, string? MessageId)> errors;
            try
            {
                errors = await rabbit.TakeAsync(queue + "_error", poisoned.Length);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}; the worker printed:\n{worker.Output}", ex);
            }
            Assert.Equal(poisoned.Length, errors.Count);
            Assert.All(errors, e => Assert.False(string.IsNullOrEmpty(e.Headers["MT-Fault-Message"]?.ToString())));
            Assert.Equal(poisoned.Select(g => g.ToString()).Order(), errors.Select(e => e.MessageId!).Order());
            // The history holds each failure with its reason: written before the message left for the error queue.
            foreach (var id in poisoned)
            {
                var stored = await history.GetRunAsync(id.ToString("N"), CancellationToken.None);
                Assert.Equal(TaskState.Failure, stored?.State);
                Assert.False(string.IsNullOrEmpty(stored!.Error));
            }
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    private static string Envelope(Guid messageId, string messageType, string message) =>
        $$$"""{"messageId":"{{{messageId}}}","messageType":["{{{messageType}}}"],"message":{{{message}}},"headers":{}}""";
}
