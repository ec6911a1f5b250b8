using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using TaskBus.Postgres;
using TaskBus.Storage;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class BrokerRestartTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    [Fact]
    public async Task RabbitMqRestartedWhileRunsAreConsumed_EveryRunEndsAndWorkersReconnect()
    {
        var queue = RabbitMqFixture.NewQueueName("restart");
        var workers = new List<AppProcess>();
        var store = new PostgresTaskStore(_postgres.ConnectionString);
        try
        {
            string[] args = ["--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}", "--TaskBus:MaxConcurrentTasks=10"];
            for (var i = 0; i < 2; i++)
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, args));
            var ids = new List<string>();
            // A TaskBus publisher process that stays up through the restart.
            await using var queuer = await PublisherHost.StartAsync(rabbit, queue);
            await using (var publisher = await EventWatcher.StartAsync(rabbit, queue))
            {
                for (var i = 0; i < 500; i++)
                {
                    var id = NewId.NextGuid();
                    ids.Add(id.ToString("N"));
                    await publisher.Bus.Publish(new Sleep { Ms = 200 }, c => c.MessageId = id);
                }
                await publisher.WaitFor(e => e.Task == "sleep" && e.State == TaskState.Success);
            }

            // 500 runs of 200 ms on 20 slots take about 5 s: the broker goes down while most still wait or run.
            var before = await FinishedAsync(store, ids);
            await RabbitMqFixture.CtlAsync("stop_app");
            await RabbitMqFixture.CtlAsync("start_app");
            await RabbitMqFixture.CtlAsync("await_startup");
            var restarted = DateTimeOffset.UtcNow;

            // Events sent while the broker was down are lost by design; the store is the record here.
            var deadline = DateTimeOffset.UtcNow.AddMinutes(3);
            int finished;
            while ((finished = await FinishedAsync(store, ids)) < ids.Count && DateTimeOffset.UtcNow < deadline)
                await Task.Delay(TimeSpan.FromSeconds(1));
            output.WriteLine($"{before} of {ids.Count} runs had finished when the broker stopped; {finished} reached a final state after the restart");
            Assert.True(before < ids.Count, "the broker restarted before the runs were done");
            if (finished < ids.Count)
            {
                // What the store and the workers say of the runs that had not ended at the deadline: what a failure needs
                // to be understood. Read once more, since they may end meanwhile (once, 5 of 500 ended just after it).
                var late = new List<string>();
                foreach (var id in ids)
                {
                    if (await store.GetRunAsync(id, CancellationToken.None) is not { } run || !run.State.IsFinished() || run.End > deadline)
                        late.Add(id);
                }
                output.WriteLine($"broker back at {restarted:HH:mm:ss.fff}, deadline {deadline:HH:mm:ss.fff}; {late.Count} run(s) not ended by then");
                foreach (var id in late)
                {
                    var stored = await store.GetRunAsync(id, CancellationToken.None);
                    output.WriteLine($"{id}: stored {stored?.State.ToString() ?? "nothing"} (queued {stored?.Queued:HH:mm:ss.fff}, start {stored?.Start:HH:mm:ss.fff}, end {stored?.End:HH:mm:ss.fff}, retry {stored?.RetryAttempt}, redelivered {stored?.Redelivered}, worker {stored?.Worker})");
                    foreach (var worker in workers)
                        foreach (var line in worker.Output.Split('\n').Where(l => l.Contains(id, StringComparison.Ordinal)))
                            output.WriteLine($"  worker {worker.Pid}: {line}");
                }
            }
            Assert.Equal(ids.Count, finished);

            // The publisher and the workers reconnected by themselves: a run the publisher queues now is consumed.
            await using var after = await EventWatcher.StartAsync(rabbit, queue);
            var next = await queuer.Manager.QueueAsync("add", new Add { A = 1, B = 1 });
            await Task.WhenAny(workers.Select(w => w.WaitForLineAsync(l => l.Contains("1+1=2", StringComparison.Ordinal))));
            Assert.Equal(TaskState.Success, (await after.WaitForFinal(next.Id)).State);
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await store.DisposeAsync();
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    private static async Task<int> FinishedAsync(PostgresTaskStore store, IReadOnlyList<string> ids)
    {
        var finished = 0;
        string? cursor = null;
        do
        {
            var page = await store.QueryRunsAsync(new TaskRunQuery { Task = "sleep", Limit = 1000, Cursor = cursor }, CancellationToken.None);
            finished += page.Runs.Count(r => r.State.IsFinished() && ids.Contains(r.Id));
            cursor = page.Next;
        }
        while (cursor is not null);
        return finished;
    }
}
