using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class ConcurrencyTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    [Theory]
    [InlineData("dummy")]
    [InlineData("exclusive")]
    public async Task TwoWorkers_TenRunsOfATaskLimitedToOne_NeverOverlap(string task)
    {
        var queue = RabbitMqFixture.NewQueueName("limit");
        var workers = new List<AppProcess>();
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            string[] store = ["--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}", "--TaskBus:MaxConcurrentTasks=10"];
            for (var i = 0; i < 2; i++)
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, store));

            var ids = Enumerable.Range(0, 10).Select(_ => NewId.NextGuid()).ToList();
            await Task.WhenAll(ids.Select(id => task == "dummy"
                ? watcher.Bus.Publish(new Dummy { Sleep = 0.3 }, c => c.MessageId = id)
                : watcher.Bus.Publish(new Exclusive(), c => c.MessageId = id)));
            var finals = new List<TaskRunEvent>();
            foreach (var id in ids)
                finals.Add(await watcher.WaitFor(e => e.Id == id.ToString("N") && e.State.IsFinished()));

            var ran = finals.Where(e => e.State == TaskState.Success).OrderBy(e => e.Start).ToList();
            for (var i = 1; i < ran.Count; i++)
                Assert.True(ran[i].Start >= ran[i - 1].End, $"{ran[i - 1].Id} ran {ran[i - 1].Start:O}–{ran[i - 1].End:O}, {ran[i].Id} started {ran[i].Start:O}");
            var workersUsed = ran.Select(e => e.Worker).Distinct().Count();
            output.WriteLine($"{task}: {ran.Count} ran without overlap on {workersUsed} worker(s), {finals.Count(e => e.State == TaskState.RateLimited)} rate_limited");
            Assert.All(finals, e => Assert.Contains(e.State, new[] { TaskState.Success, TaskState.RateLimited }));
            if (task == "dummy")
                Assert.Contains(finals, e => e.State == TaskState.RateLimited); // no rate-limit retry: the surplus ends rate_limited
            else
                Assert.True(ran.Count > 1, "re-queued runs of exclusive ran later"); // rate-limit retry: refused runs come back
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await rabbit.DeleteQueuesAsync(queue);
            await rabbit.DeleteQueuesAsync(queue + "_delay_500");
        }
    }

    [Fact]
    public async Task FreshPublisher_AHundredQueueAndWaitsAtOnce_AllSucceed()
    {
        // The first request starts the bus's response endpoint; MassTransit blocks every request on it until it is
        // up, and a hundred blocked pool threads starved the client that had to bring it up: runs were lost or late.
        var queue = RabbitMqFixture.NewQueueName("burst");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, "--TaskBus:MaxConcurrentTasks=32");
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue);
            var runs = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ =>
                publisher.Manager.QueueAndWaitAsync("noop", timeout: TimeSpan.FromSeconds(15))));
            Assert.All(runs, r => Assert.Equal(TaskState.Success, r.State));
            Assert.Equal(100, runs.Select(r => r.Id).Distinct().Count());
            // The final run names the worker it ran on, not the process that waited for it.
            Assert.All(runs, r => Assert.Equal($"{Environment.MachineName}-{worker.Pid}", r.ToEvent(TaskManager.WorkerName).Worker));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }
}
