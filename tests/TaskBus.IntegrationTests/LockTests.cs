using System.Globalization;
using System.Text.RegularExpressions;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary><see cref="TaskRunContext.LockAsync"/> across two worker processes sharing the PostgreSQL store.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed partial class LockTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    [Fact]
    public async Task TwoWorkers_RunsTakingOneLock_HoldItOneAtATime_ReleasedAlsoWhenARunFails_AndAWaitPastItsTimeoutFails()
    {
        var queue = RabbitMqFixture.NewQueueName("lock");
        var workers = new List<AppProcess>();
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit);
            string[] store = ["--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}", "--TaskBus:MaxConcurrentTasks=5"];
            for (var i = 0; i < 2; i++)
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, store));
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue);

            // Twelve runs at once: each worker takes five, so both hold the lock in turn; one fails holding it.
            var ids = new List<string>();
            for (var i = 0; i < 12; i++)
                ids.Add((await publisher.Manager.QueueAsync("locked", new Locked { Ms = 150, Error = i == 3 })).Id);
            var finals = new List<TaskRunEvent>();
            foreach (var id in ids)
                finals.Add(await watcher.WaitForFinal(id));

            Assert.Equal(TaskState.Failure, finals[3].State);
            Assert.Contains("locked error, lock shared held", finals[3].Error, StringComparison.Ordinal);
            Assert.All(finals.Where((_, i) => i != 3), e => Assert.Equal(TaskState.Success, e.State));
            Assert.Equal(2, finals.Select(e => e.Worker).Distinct().Count());

            // Every holder logged when it took and released the lock: no two of those intervals overlap.
            var held = workers.SelectMany(w => HeldLine().Matches(w.Output))
                .Select(m => (Run: m.Groups[1].Value, From: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), To: long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)))
                .OrderBy(h => h.From)
                .ToList();
            Assert.Equal(11, held.Count);
            for (var i = 1; i < held.Count; i++)
                Assert.True(held[i].From >= held[i - 1].To, $"{held[i - 1].Run} held the lock until {held[i - 1].To}, {held[i].Run} took it at {held[i].From}");
            output.WriteLine($"{held.Count} holders one at a time on workers {string.Join(", ", finals.Select(e => e.Worker).Distinct())}");

            // A run that cannot get the lock within its timeout fails with the reason; the holder is not disturbed.
            var holder = await publisher.Manager.QueueAsync("locked", new Locked { Name = "long", Ms = 3000 });
            await watcher.WaitFor(e => e.Id == holder.Id && e.State == TaskState.Running);
            var waiter = await publisher.Manager.QueueAsync("locked", new Locked { Name = "long", Ms = 10, LockTimeout = 0.5 });
            var refused = await watcher.WaitForFinal(waiter.Id);
            Assert.Equal(TaskState.Failure, refused.State);
            Assert.Equal("TimeoutException: lock tasks:locked:long was not free within 0.5 s", refused.Error);
            Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(holder.Id)).State);
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [GeneratedRegex(@"lock shared held by ([0-9a-f]{32}) from (\d+) to (\d+)")]
    private static partial Regex HeldLine();
}
