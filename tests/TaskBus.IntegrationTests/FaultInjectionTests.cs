using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class FaultInjectionTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    [Fact]
    public async Task SigtermWithAOneSecondGrace_InterruptsTheRun_AndAnotherWorkerCompletesIt()
    {
        var queue = RabbitMqFixture.NewQueueName("sigterm");
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var id = NewId.NextGuid();
            var runId = id.ToString("N");
            var postgres = new PostgresFixture();
            await postgres.InitializeAsync();
            await using var dropDatabase = new AsyncCleanup(postgres.DisposeAsync);
            string[] store = ["--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={postgres.ConnectionString}"];
            await using (var first = await AppProcess.StartWorkerAsync(rabbit, queue, [.. store, "--TaskBus:StoppingGracePeriod=00:00:01"]))
            {
                await watcher.Bus.Publish(new Dummy { Sleep = 10 }, c => c.MessageId = id);
                await watcher.WaitFor(e => e.Id == runId && e.State == TaskState.Running);
                Assert.Equal(0, await first.StopAsync());
            }
            var interrupted = await watcher.WaitFor(e => e.Id == runId && e.State == TaskState.Interrupted);
            Assert.NotNull(interrupted.End);
            // The stored run says so too (aio-fluid's shutdown case), written before the worker exited.
            await using (var history = new TaskBus.Postgres.PostgresTaskStore(postgres.ConnectionString))
            {
                var stored = await history.GetRunAsync(runId, CancellationToken.None);
                Assert.Equal(TaskState.Interrupted, stored?.State);
                Assert.NotNull(stored!.End);
            }

            await using var second = await AppProcess.StartWorkerAsync(rabbit, queue, store);
            var again = await watcher.WaitFor(e => e.Id == runId && e.State == TaskState.Running && e.Redelivered);
            // dummy(sleep=10) runs its 10 s again on the second worker: ten times the grace period the first one had.
            var final = await watcher.WaitFor(e => e.Id == runId && e.State == TaskState.Success, TimeSpan.FromSeconds(60));

            Assert.NotEqual(interrupted.Worker, final.Worker);
            Assert.True(final.Redelivered);
            output.WriteLine($"interrupted by {interrupted.Worker}, redelivered to {again.Worker}, success after {final.DurationMs} ms");
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task WorkerKilledWithSigkillMidRun_EveryRunStillSucceeds_AndIsRecordedSo()
    {
        var queue = RabbitMqFixture.NewQueueName("sigkill");
        var workers = new List<AppProcess>();
        var postgres = new PostgresFixture();
        await postgres.InitializeAsync();
        await using var dropDatabase = new AsyncCleanup(postgres.DisposeAsync);
        await using var history = new TaskBus.Postgres.PostgresTaskStore(postgres.ConnectionString);
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            string[] args = ["--TaskBus:MaxConcurrentTasks=20", "--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={postgres.ConnectionString}"];
            for (var i = 0; i < 2; i++)
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, args));
            var ids = Enumerable.Range(0, 200).Select(_ => NewId.NextGuid().ToString("N")).ToList();
            foreach (var id in ids)
                await watcher.Bus.Publish(new Sleep { Ms = 500 }, c => c.MessageId = Guid.Parse(id));

            // Kill one worker while both are busy.
            await watcher.WaitFor(e => e.Task == "sleep" && e.State == TaskState.Success && e.Worker.EndsWith($"-{workers[0].Pid}", StringComparison.Ordinal));
            await workers[0].KillAsync();

            // The store is the record: a run's message is acknowledged only once its final state is stored, so a
            // run that ended just before the kill is stored, and one that had not is delivered again. Events are
            // notifications: the killed worker's last ones may never have left it. Nothing signals the store, so it is read until done.
            var stored = new Dictionary<string, TaskRunEvent>();
            var deadline = DateTimeOffset.UtcNow.AddMinutes(2);
            while (stored.Count < ids.Count && DateTimeOffset.UtcNow < deadline)
            {
                foreach (var id in ids.Where(id => !stored.ContainsKey(id)).ToList())
                {
                    if (await history.GetRunAsync(id, CancellationToken.None) is { State: TaskState.Success } run)
                        stored[id] = run;
                }
                if (stored.Count < ids.Count)
                    await Task.Delay(TimeSpan.FromMilliseconds(500));
            }
            var missing = ids.Where(id => !stored.ContainsKey(id)).Select(id => $"{id}: {string.Join(",", watcher.EventsOf(id).Select(e => $"{e.State.ToWire()}@{e.Worker}"))}");
            Assert.True(stored.Count == ids.Count, $"not stored as success: {string.Join("; ", missing)}");
            var ranTwice = ids.Count(id => watcher.EventsOf(id).Count(e => e.State == TaskState.Running) > 1);
            // A run started twice was delivered again after the kill: its second start says so. (A stored row read above
            // may predate that second run, so this counts from the events, which the surviving worker does send.)
            var redelivered = ids.Count(id => watcher.EventsOf(id).Any(e => e.Redelivered));
            output.WriteLine($"200 runs, all stored as success; started twice: {ranTwice}; redelivered after the kill: {redelivered}");
            Assert.True(redelivered >= ranTwice);
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task HundredPoisonMessagesAmongAThousandGoodRuns_TheGoodSucceed_ThePoisonWaitsInTheErrorQueue()
    {
        var queue = RabbitMqFixture.NewQueueName("poison1000");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, "--TaskBus:MaxConcurrentTasks=20");
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var good = new List<Guid>();
            for (var i = 0; i < 1000; i++)
            {
                var id = NewId.NextGuid();
                good.Add(id);
                await watcher.Bus.Publish(new Noop(), c => c.MessageId = id);
                if (i % 10 == 0)
                    await rabbit.SendRawAsync(queue, i % 20 == 0 ? "{ not json" : """{"messageType":["urn:message:Nobody:Nothing"],"message":{}}""", "application/vnd.masstransit+json", NewId.NextGuid());
            }

            foreach (var id in good)
                await watcher.WaitFor(e => e.Id == id.ToString("N") && e.State == TaskState.Success);
            var errors = await rabbit.TakeAsync(queue + "_error", 100);

            Assert.Equal(100, errors.Count);
            Assert.All(errors, e => Assert.False(string.IsNullOrEmpty(e.Headers["MT-Fault-Message"]?.ToString())));
            Assert.Contains("Worker ", worker.Output, StringComparison.Ordinal);
            output.WriteLine($"1000 good runs succeeded; 100 poison messages in {queue}_error with reasons");
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }
}
