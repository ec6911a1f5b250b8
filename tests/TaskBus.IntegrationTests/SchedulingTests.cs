using TaskBus.Contracts;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class SchedulingTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    [Fact]
    public async Task ThreeSchedulingWorkers_EveryTickOnItsGridRunsOnce_AndTicksResumeWithinThreeSecondsOfKillingTheFiringOne()
    {
        var queue = RabbitMqFixture.NewQueueName("sched");
        await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
        var workers = new List<AppProcess>();
        try
        {
            // The default check-in interval: what a deployment gets.
            for (var i = 0; i < 3; i++)
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, SchedulingArgs()));

            // 60 s of ticks, counted from the first one run; the firing worker is killed after 20 s, once it has
            // run a tick it queued (so the kill does not fall between a tick's event and its message).
            var first = await watcher.WaitFor(e => e.Task == "ping" && e.State == TaskState.Success);
            var start = first.ScheduledFor!.Value;
            var beforeKill = await watcher.WaitFor(e => e.Task == "ping" && e.State == TaskState.Queued && e.ScheduledFor >= start.AddSeconds(20));
            var firing = workers.Single(w => beforeKill.Worker.EndsWith($"-{w.Pid}", StringComparison.Ordinal));
            await watcher.WaitFor(e => e.Id == beforeKill.Id && e.State == TaskState.Success);
            var killedAt = DateTimeOffset.UtcNow;
            await firing.KillAsync();
            var afterKill = await watcher.WaitFor(e => e.Task == "ping" && e.State == TaskState.Queued && e.Worker != beforeKill.Worker && e.Queued > killedAt);
            var end = start.AddSeconds(60);
            await watcher.WaitFor(e => e.Task == "ping" && e.State == TaskState.Success && e.ScheduledFor >= end);

            var ran = watcher.Events.Where(e => e.Task == "ping" && e.State == TaskState.Success).ToList();
            var resumedIn = afterKill.Queued!.Value - killedAt;
            output.WriteLine($"ticks run: {ran.Count}; first tick queued by another worker {resumedIn.TotalSeconds:0.00} s after the SIGKILL; " +
                $"queued by: {string.Join(", ", watcher.Events.Where(e => e.Task == "ping" && e.State == TaskState.Queued).GroupBy(e => e.Worker).Select(g => $"{g.Key}={g.Count()}"))}");
            // Every run is a tick of the 1 s grid, and no tick runs twice.
            Assert.All(ran, e => Assert.Equal(0, (e.ScheduledFor!.Value - start).Ticks % TimeSpan.TicksPerSecond));
            Assert.All(ran.GroupBy(e => e.ScheduledFor), g => Assert.Single(g));
            Assert.All(ran.GroupBy(e => e.Id), g => Assert.Single(g));
            // Every grid point of the window ran: the kill skipped none (Quartz skips only ticks 60 s late).
            var window = ran.Select(e => e.ScheduledFor!.Value).Where(t => t >= start && t < end).Order().ToList();
            Assert.Equal(Enumerable.Range(0, 60).Select(i => start.AddSeconds(i)), window);
            Assert.True(resumedIn < TimeSpan.FromSeconds(3), $"ticks resumed {resumedIn} after the kill");
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task TaskDisabledThroughOneWorkersCli_IsNotRunByAnotherWorker()
    {
        var queue = RabbitMqFixture.NewQueueName("enable");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, StoreArgs());
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);

            await using (var disable = AppProcess.Start("TaskBus.Worker", ["enable", "add", "--disable", .. StoreArgs()]))
            {
                Assert.Equal(0, await disable.WaitForExitAsync());
                Assert.Contains("Task add disabled", disable.Output, StringComparison.Ordinal);
            }
            await watcher.Bus.Publish(new Contracts.Tasks.Add { A = 1, B = 2 });
            var aborted = await watcher.WaitFor(e => e.Task == "add" && e.State.IsFinished());
            Assert.Equal(TaskState.Aborted, aborted.State);
            Assert.Equal("task add is disabled", aborted.Error);
            Assert.Contains(TaskState.Running, watcher.EventsOf(aborted.Id).Select(e => e.State));
            Assert.DoesNotContain("1+2=3", worker.Output, StringComparison.Ordinal);

            await using (var enable = AppProcess.Start("TaskBus.Worker", ["enable", "add", .. StoreArgs()]))
                Assert.Equal(0, await enable.WaitForExitAsync());
            await watcher.Bus.Publish(new Contracts.Tasks.Add { A = 2, B = 2 });
            var success = await watcher.WaitFor(e => e.Task == "add" && e.State == TaskState.Success);
            Assert.NotEqual(aborted.Id, success.Id);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task EnableUnknownTask_ExitsOneWithTheReason()
    {
        await using var enable = AppProcess.Start("TaskBus.Worker", ["enable", "nosuch", .. StoreArgs()]);

        Assert.Equal(1, await enable.WaitForExitAsync());
        Assert.Contains("Error: Task nosuch not found", enable.Output, StringComparison.Ordinal);
    }

    private string[] StoreArgs() =>
        ["--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}", "--TaskBus:Transport=RabbitMQ", $"--TaskBus:RabbitMQ:Url={rabbit.Url}"];

    private string[] SchedulingArgs() =>
        [.. StoreArgs(), "--TaskBus:ScheduleTasks=true", "--TaskBus:Schedules:ping=00:00:01"];
}
