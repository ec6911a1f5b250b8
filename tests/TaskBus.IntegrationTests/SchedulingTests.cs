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
    public async Task ThreeSchedulingWorkers_FireEachTickOnce_AndResumeAfterTheFiringOneIsKilled()
    {
        var queue = RabbitMqFixture.NewQueueName("sched");
        await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
        var workers = new List<AppProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, SchedulingArgs()));

            // Run for 60 s of ticks, counted from the first one seen; kill the firing worker after 20 s.
            var first = await watcher.WaitFor(e => e.Task == "ping" && e.State == TaskState.Queued);
            var start = first.Queued!.Value;
            var beforeKill = await watcher.WaitFor(e => e.Task == "ping" && e.State == TaskState.Queued && e.Queued >= start.AddSeconds(20));
            var firing = workers.Single(w => beforeKill.Worker.EndsWith($"-{w.Pid}", StringComparison.Ordinal));
            await firing.KillAsync();
            var afterKill = await watcher.WaitFor(e => e.Task == "ping" && e.State == TaskState.Queued && e.Worker != beforeKill.Worker && e.Queued > beforeKill.Queued);
            await watcher.WaitFor(e => e.Task == "ping" && e.State == TaskState.Queued && e.Queued >= start.AddSeconds(61));

            var queued = watcher.Events.Where(e => e.Task == "ping" && e.State == TaskState.Queued).ToList();
            var inWindow = queued.Where(e => e.Queued >= start && e.Queued < start.AddSeconds(60)).Select(e => e.Id).Distinct().Count();
            Assert.InRange(inWindow, 58, 62);
            // Each tick has one run id (from task and fire time), queued once and run once.
            Assert.All(queued.GroupBy(e => e.Id), g => Assert.Single(g));
            var done = watcher.Events.Where(e => e.Task == "ping" && e.State == TaskState.Success).GroupBy(e => e.Id).ToList();
            Assert.All(done, g => Assert.Single(g));
            // The gap left by the killed worker is closed within 10 s.
            var lastBefore = queued.Where(e => e.Worker == beforeKill.Worker).Max(e => e.Queued!.Value);
            output.WriteLine($"ticks queued in the 60 s window: {inWindow}; runs: {done.Count}; gap after SIGKILL of the firing worker: {(afterKill.Queued!.Value - lastBefore).TotalSeconds:0.00} s; " +
                $"fired by: {string.Join(", ", queued.GroupBy(e => e.Worker).Select(g => $"{g.Key}={g.Count()}"))}");
            Assert.True(afterKill.Queued!.Value - lastBefore < TimeSpan.FromSeconds(10), $"ticks resumed after {afterKill.Queued - lastBefore}");
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
        [.. StoreArgs(), "--TaskBus:ScheduleTasks=true", "--TaskBus:Schedules:ping=00:00:01", "--TaskBus:SchedulerCheckinInterval=00:00:01"];
}
