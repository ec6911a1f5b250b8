using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;
using TaskBus.IntegrationTests.Support;

using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>
/// The error queue as an operator uses it: a params record changed under 100 queued runs (the queuer has the new
/// record, the worker the old one) and 100 poison messages; all 200 wait in the error queue with their reasons, each a
/// failure in events and history; once the workers have the new record, the 100 runs are requeued and succeed, each
/// linked to its failure, and the poison messages are discarded.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ErrorQueueTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    [Fact]
    public async Task RunsWhoseRecordChanged_AndPoisonMessages_WaitInTheErrorQueue_ThenAreRequeuedAndSucceed_OrDiscarded()
    {
        const int count = 100;
        var queue = RabbitMqFixture.NewQueueName("errors");
        var postgres = new PostgresFixture();
        await postgres.InitializeAsync();
        await using var dropDatabase = new AsyncCleanup(postgres.DisposeAsync);
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue, ordered: false);
            await using var queuer = await StartAsync(queue, postgres, typeof(Versions.V2.ScaleTask), consume: false);
            List<string> runs;
            var poison = Enumerable.Range(0, count).Select(_ => NewId.NextGuid()).ToList();
            await using (await StartAsync(queue, postgres, typeof(Versions.V1.ScaleTask), consume: true))
            {
                // Queued with the new record (a fraction), taken by a worker that still has the old one (an int).
                runs = [];
                for (var i = 0; i < count; i++)
                    runs.Add((await queuer.Manager.QueueAsync("scale", new Versions.V2.Scale { Factor = 1.5 })).Id);
                foreach (var id in poison)
                    await rabbit.SendRawAsync(queue, "{ not json", "application/vnd.masstransit+json", id);
                await watcher.WaitForCount(e => e.State == TaskState.Failure, 2 * count, TimeSpan.FromMinutes(1));
            }

            var listed = await queuer.Manager.ListErrorsAsync(1000);
            var again = await queuer.Manager.ListErrorsAsync(1000);
            await using var history = new TaskBus.Postgres.PostgresTaskStore(postgres.ConnectionString);
            Assert.Equal(2 * count, listed.Count);
            Assert.Equal(listed.Select(m => m.RunId).Order(), again.Select(m => m.RunId).Order());
            Assert.Equal(runs.Order(), listed.Where(m => m.Task == "scale").Select(m => m.RunId).Order());
            Assert.Equal(poison.Select(g => g.ToString("N")).Order(), listed.Where(m => m.Task == "unknown").Select(m => m.RunId).Order());
            Assert.All(listed, m => Assert.False(string.IsNullOrEmpty(m.Reason)));
            Assert.All(listed, m => Assert.NotNull(m.FailedAt));
            foreach (var id in runs.Concat(poison.Select(g => g.ToString("N"))))
            {
                var stored = await history.GetRunAsync(id, CancellationToken.None);
                Assert.Equal(TaskState.Failure, stored?.State);
                Assert.False(string.IsNullOrEmpty(stored!.Error));
            }
            output.WriteLine($"a changed record: {listed.First(m => m.Task == "scale").Reason}");
            output.WriteLine($"a poison message: {listed.First(m => m.Task == "unknown").Reason}");

            // The workers get the new record; the failed runs are queued again, and only they.
            await using (await StartAsync(queue, postgres, typeof(Versions.V2.ScaleTask), consume: true))
            {
                var requeued = await queuer.Manager.RequeueErrorsAsync(runs);
                Assert.Equal(count, requeued.Count);
                Assert.All(requeued, o => Assert.Null(o.Error));
                foreach (var outcome in requeued)
                {
                    var final = await watcher.WaitForFinal(outcome.NewRunId!);
                    Assert.Equal(TaskState.Success, final.State);
                    Assert.Equal(outcome.Failed.RunId, final.FromRunId);
                }
                // Requeued once: their messages left the error queue.
                Assert.Empty(await queuer.Manager.RequeueErrorsAsync(runs));
            }

            var discarded = await queuer.Manager.DiscardErrorsAsync();
            Assert.Equal(poison.Select(g => g.ToString("N")).Order(), discarded.Select(m => m.RunId).Order());
            Assert.Empty(await queuer.Manager.ListErrorsAsync());
            Assert.Equal(0u, await rabbit.MessageCountOrZeroAsync(queue + "_error"));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task ThePublisherCommandLine_ListsRequeuesAndDiscards_TheErrorQueue()
    {
        var queue = RabbitMqFixture.NewQueueName("errors-cli");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue);
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var poison = NewId.NextGuid();
            var badParams = NewId.NextGuid();
            await rabbit.SendRawAsync(queue, "{ not json", "application/vnd.masstransit+json", poison);
            await rabbit.SendRawAsync(
                queue, $$$"""{"messageId":"{{{badParams}}}","messageType":["urn:message:TaskBus.Contracts.Tasks:Add"],"message":{"a":"three","b":4},"headers":{}}""",
                "application/vnd.masstransit+json", badParams);
            await watcher.WaitForFinal(poison.ToString("N"));
            await watcher.WaitForFinal(badParams.ToString("N"));

            var listed = await CliAsync(0, "errors", "ls");
            // Its params still do not fit: it stays, and the command says so with exit 1.
            var requeued = await CliAsync(1, "errors", "requeue", badParams.ToString());
            var neither = await CliAsync(2, "errors", "discard");
            var discarded = await CliAsync(0, "errors", "discard", "--all");

            Assert.Equal(
                new[] { (poison.ToString("N"), "unknown"), (badParams.ToString("N"), "add") }.Order(),
                listed!.RootElement.EnumerateArray().Select(m => (m.GetProperty("runId").GetString()!, m.GetProperty("task").GetString()!)).Order());
            Assert.Contains("invalid params for task 'add'", requeued!.RootElement[0].GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Null(neither);
            Assert.Equal(2, discarded!.RootElement.GetArrayLength());
            Assert.Equal(0u, await rabbit.MessageCountOrZeroAsync(queue + "_error"));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }

        async Task<System.Text.Json.JsonDocument?> CliAsync(int exitCode, params string[] args)
        {
            await using var cli = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, args));
            Assert.Equal(exitCode, await cli.WaitForExitAsync());
            return exitCode == 2 ? null : System.Text.Json.JsonDocument.Parse(cli.StdoutLines.Single());
        }
    }

    private async Task<TestHost> StartAsync(string queue, PostgresFixture postgres, Type task, bool consume)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddTaskBus(o =>
        {
            o.Transport = TaskBusTransport.RabbitMQ;
            o.RabbitMQ.Url = rabbit.Url;
            o.QueueName = queue;
            o.ConsumeTasks = consume;
            o.ScheduleTasks = false;
            o.Store.Provider = TaskStoreProvider.PostgreSQL;
            o.Store.ConnectionString = postgres.ConnectionString;
        }).AddTask(task);
        var host = builder.Build();
        await host.StartAsync();
        return new TestHost(host);
    }

    private sealed class TestHost(IHost host) : IAsyncDisposable
    {
        public TaskManager Manager => host.Services.GetRequiredService<TaskManager>();

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}
