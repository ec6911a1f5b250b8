using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using TaskBus.Postgres;
using TaskBus.Storage;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>The worker group on the three-node cluster of scripts/start-rabbitmq-cluster.sh: quorum queues, a node lost, shards.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ClusterTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public async Task InitializeAsync()
    {
        await RabbitMqCluster.EnsureRunningAsync();
        await _postgres.InitializeAsync();
    }

    public Task DisposeAsync() => _postgres.DisposeAsync();

    /// <summary>
    /// Quorum: the runs go on on the other nodes. Classic: the queue is gone with its node; nothing runs until it is
    /// back (10 s here), then every run does; measured, for README.
    /// </summary>
    [Theory]
    [InlineData(RabbitMqQueueType.Quorum)]
    [InlineData(RabbitMqQueueType.Classic)]
    public async Task TheNodeOfTheTaskQueueKilled_EveryRunSucceedsOnce_ClientsReconnect_NoTickLost(RabbitMqQueueType type)
    {
        var vhost = await RabbitMqCluster.CreateVhostAsync();
        var queue = RabbitMqFixture.NewQueueName($"{type}-kill".ToLowerInvariant());
        var workers = new List<AppProcess>();
        string? killed = null;
        var store = new PostgresTaskStore(_postgres.ConnectionString);
        try
        {
            // Two workers on different nodes, each scheduling a 1 s tick (one clustered schedule in PostgreSQL).
            for (var i = 1; i <= 2; i++)
            {
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, [
                    .. Cluster(vhost, i), $"--TaskBus:RabbitMQ:QueueType={type}", "--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}",
                    "--TaskBus:MaxConcurrentTasks=10", "--TaskBus:ScheduleTasks=true", "--TaskBus:Schedules:noop=00:00:01"]));
            }
            await using var queuer = await PublisherHost.StartAsync(rabbit, queue, RabbitMqCluster.Url(3, vhost), o =>
            {
                o.RabbitMQ.Nodes = [RabbitMqCluster.Nodes];
                o.RabbitMQ.QueueType = type;
            });
            var taskQueue = type == RabbitMqQueueType.Classic ? queue : $"{queue}.{queuer.Manager.CreateTaskRun("sleep", new Sleep()).Priority.ToWire()}";
            killed = await RabbitMqCluster.LeaderAsync(vhost, taskQueue);
            // The watcher listens on a node that stays.
            var watched = Enumerable.Range(1, 3).First(i => RabbitMqCluster.Names[i - 1] != killed);
            await using var watcher = await EventWatcher.StartAsync(rabbit, url: RabbitMqCluster.Url(watched, vhost), ordered: false);

            var ids = new List<string>();
            for (var batch = 0; batch < 10; batch++)
                ids.AddRange((await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => queuer.Manager.QueueAsync("sleep", new Sleep { Ms = 100 })))).Select(r => r.Id));
            await watcher.WaitForCount(e => e.Task == "sleep" && e.State == TaskState.Success, 300, TimeSpan.FromMinutes(2));
            var killedAt = DateTimeOffset.UtcNow;
            await RabbitMqCluster.KillAsync(killed);
            output.WriteLine($"killed {killed}, the leader of {taskQueue}, after the 300th success");
            if (type == RabbitMqQueueType.Classic)
            {
                // The queue lives on that node alone: an outage of 10 s, then the node is back.
                var atKill = (await RunsAsync(store, "sleep")).Count(r => r.State.IsFinished());
                await Task.Delay(TimeSpan.FromSeconds(10));
                var duringOutage = (await RunsAsync(store, "sleep")).Count(r => r.State.IsFinished()) - atKill;
                await RabbitMqCluster.RestartAsync(killed);
                output.WriteLine($"classic: {atKill} runs ended when the node died, {duringOutage} more in the 10 s it was down; it is back after {(DateTimeOffset.UtcNow - killedAt).TotalSeconds:0.0} s");
                killed = null;
            }

            var deadline = DateTimeOffset.UtcNow.AddMinutes(3);
            IReadOnlyList<TaskRunEvent> stored;
            while ((stored = await RunsAsync(store, "sleep")).Count(r => r.State.IsFinished()) < ids.Count && DateTimeOffset.UtcNow < deadline)
                await Task.Delay(TimeSpan.FromSeconds(1));
            var doneAt = DateTimeOffset.UtcNow;

            // Every run succeeded, in the store, and no run id has two successes.
            Assert.Equal(ids.Order(), stored.Where(r => r.State == TaskState.Success).Select(r => r.Id).Order());
            var events = watcher.Events.Where(e => e.Task == "sleep").ToList();
            Assert.DoesNotContain(events.GroupBy(e => e.Id), g => g.Count(e => e.State == TaskState.Success) > 1);
            // A run that started twice (its message handed back when its node died) is marked redelivered the second time.
            var twice = events.GroupBy(e => e.Id).Where(g => g.Count(e => e.State == TaskState.Running) > 1).ToList();
            Assert.All(twice, g => Assert.Contains(g, e => e.State == TaskState.Running && e.Redelivered));
            output.WriteLine($"{twice.Count} runs started twice (redelivered); {stored.Count(r => r.Redelivered)} stored redelivered");

            // The workers and the queuer moved to another node by themselves: a new run is queued and consumed.
            Assert.All(workers, w => Assert.False(w.HasExited, w.Output));
            var after = await queuer.Manager.QueueAsync("add", new Add { A = 2, B = 3 });
            Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(after.Id)).State);

            // No tick of the 1 s schedule was lost around the node's death: every second has its run, and each ran (a
            // tick whose send failed is stored queued at once and sent again for about a minute: wait that long at most).
            bool InWindow(TaskRunEvent r) => r.ScheduledFor is { } at && at > killedAt.AddSeconds(-3) && at < doneAt.AddSeconds(-3);
            var tickDeadline = DateTimeOffset.UtcNow.AddSeconds(90);
            List<TaskRunEvent> ticks;
            while ((ticks = [.. (await RunsAsync(store, "noop")).Where(InWindow)]).Any(r => !r.State.IsFinished()) && DateTimeOffset.UtcNow < tickDeadline)
                await Task.Delay(TimeSpan.FromSeconds(1));
            var seconds = ticks.Select(r => r.ScheduledFor!.Value.ToUnixTimeSeconds()).Distinct().Order().ToList();
            output.WriteLine($"ticks from {killedAt.AddSeconds(-3):O} to {doneAt.AddSeconds(-3):O}: {seconds.Count}, {ticks.Count(r => r.State == TaskState.Success)} succeeded");
            Assert.True(seconds.Count >= 3, $"{seconds.Count} ticks");
            Assert.Equal(Enumerable.Range(0, (int)(seconds[^1] - seconds[0] + 1)).Select(i => seconds[0] + i), seconds);
            Assert.All(ticks, r => Assert.Equal(TaskState.Success, r.State));
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await store.DisposeAsync();
            if (killed is not null)
                await RabbitMqCluster.RestartAsync(killed);
            await RabbitMqCluster.DeleteVhostAsync(vhost);
        }
    }

    [Fact]
    public async Task Quorum_RunsOfThreePriorities_NoRunStartsWhileAHigherOneWaits()
    {
        var vhost = await RabbitMqCluster.CreateVhostAsync();
        var queue = RabbitMqFixture.NewQueueName("quorum-priority");
        try
        {
            string[] store = ["--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}"];
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, [.. Quorum(vhost, 1), .. store, "--TaskBus:MaxConcurrentTasks=1"]);
            await using var watcher = await EventWatcher.StartAsync(rabbit, url: RabbitMqCluster.Url(2, vhost));
            await using var queuer = await PublisherHost.StartAsync(rabbit, queue, RabbitMqCluster.Url(2, vhost), o =>
            {
                o.RabbitMQ.Nodes = [RabbitMqCluster.Nodes];
                o.RabbitMQ.QueueType = RabbitMqQueueType.Quorum;
                o.Store.Provider = TaskStoreProvider.PostgreSQL;
                o.Store.ConnectionString = _postgres.ConnectionString;
            });
            // The worker's one slot is busy; an interleaved mix waits meanwhile.
            var blocker = await queuer.Manager.QueueAsync("sleep", new Sleep { Ms = 120_000 });
            await watcher.WaitFor(e => e.Id == blocker.Id && e.State == TaskState.Running);
            var priorities = new Dictionary<string, TaskPriority>();
            for (var i = 0; i < 10; i++)
            {
                foreach (var priority in new[] { TaskPriority.Low, TaskPriority.Medium, TaskPriority.High })
                    priorities[(await queuer.Manager.QueueAsync("noop", priority: priority)).Id] = priority;
            }

            await queuer.Manager.CancelAsync(blocker.Id, "the mix may start");
            foreach (var id in priorities.Keys)
                Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(id)).State);

            var started = watcher.Events.Where(e => e.State == TaskState.Running && priorities.ContainsKey(e.Id)).Select(e => priorities[e.Id]).ToList();
            var inversions = started.Select((p, i) => started.Skip(i + 1).Count(later => Rank(later) > Rank(p))).Sum();
            Assert.True(inversions == 0, $"{inversions} inversions: {string.Join(",", started)}");
        }
        finally
        {
            await RabbitMqCluster.DeleteVhostAsync(vhost);
        }
    }

    [Fact]
    public async Task ThreeShards_RunsSpreadInTurn_FiguresCoverAll_AnotherLayoutRefuses_AndMigratesWithoutLoss()
    {
        var vhost = await RabbitMqCluster.CreateVhostAsync();
        var queue = RabbitMqFixture.NewQueueName("shards");
        try
        {
            string[] sharded = [.. Cluster(vhost, 1), "--TaskBus:RabbitMQ:Shards=3"];
            var ids = new List<string>();
            await using (var queuer = await PublisherHost.StartAsync(rabbit, queue, RabbitMqCluster.Url(1, vhost), o =>
            {
                o.RabbitMQ.Nodes = [RabbitMqCluster.Nodes];
                o.RabbitMQ.Shards = 3;
                o.RabbitMQ.ManagementUrl = RabbitMqCluster.ManagementUrl(1);
            }))
            {
                for (var i = 0; i < 31; i++)
                    ids.Add((await queuer.Manager.QueueAsync("add", new Add { A = i, B = 1 }, (TaskPriority)(i % 3))).Id);
                var perShard = new List<uint>();
                for (var shard = 1; shard <= 3; shard++)
                    perShard.Add(await rabbit.MessageCountAsync($"{queue}.{shard}", RabbitMqCluster.Url(1, vhost)));
                Assert.True(perShard.Max() - perShard.Min() <= 1 && perShard.Sum(n => n) == 31, string.Join(",", perShard));
                Assert.Equal(31L, (await queuer.Manager.GetQueueStatusAsync()).Length);
            }

            // A worker of another layout refuses to start, naming the setting.
            await using (var refused = AppProcess.Start("TaskBus.Worker", [
                "serve", "--TaskBus:Transport=RabbitMQ", .. Cluster(vhost, 2), $"--TaskBus:QueueName={queue}", "--TaskBus:RabbitMQ:Shards=2"]))
            {
                Assert.NotEqual(0, await refused.WaitForExitAsync());
                Assert.Contains("TaskBus:RabbitMQ:Shards is 2", refused.Output, StringComparison.Ordinal);
            }

            // Moved to two quorum shards: every run once, none lost.
            string[] quorum = [.. Cluster(vhost, 2), "--TaskBus:RabbitMQ:QueueType=Quorum", "--TaskBus:RabbitMQ:Shards=2"];
            await using (var migrate = AppProcess.Start("TaskBus.Publisher", ["migrate-queues", "--TaskBus:Transport=RabbitMQ", $"--TaskBus:QueueName={queue}", .. quorum]))
            {
                Assert.Equal(0, await migrate.WaitForExitAsync());
                Assert.Contains("\"layout\":\"Quorum, 2 shards\"", migrate.Output, StringComparison.Ordinal);
                Assert.Contains("\"left\":[]", migrate.Output, StringComparison.Ordinal);
            }
            // The new layout's error queue is there before any run failed: a run past its delivery limit has somewhere to go.
            Assert.Equal(0u, await rabbit.MessageCountAsync($"{queue}.quorum_error", RabbitMqCluster.Url(1, vhost)));
            await using var watcher = await EventWatcher.StartAsync(rabbit, url: RabbitMqCluster.Url(3, vhost), ordered: false);
            var others = await RabbitMqCluster.ConnectionCountAsync(vhost);
            await using (var worker = await AppProcess.StartWorkerAsync(rabbit, queue, quorum))
            {
                foreach (var id in ids)
                    Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(id)).State);
                // The worker holds two connections: MassTransit's and TaskBus's own.
                Assert.Equal(2, await RabbitMqCluster.ConnectionCountAsync(vhost) - others);
                Assert.Equal(31, watcher.Events.Count(e => e.State == TaskState.Success && ids.Contains(e.Id)));
                Assert.Equal(0, await worker.StopAsync());
            }

            // Counts per priority and clear cover every queue of the layout.
            await using var sender = await PublisherHost.StartAsync(rabbit, queue, RabbitMqCluster.Url(2, vhost), o =>
            {
                o.RabbitMQ.Nodes = [RabbitMqCluster.Nodes];
                o.RabbitMQ.QueueType = RabbitMqQueueType.Quorum;
                o.RabbitMQ.Shards = 2;
            });
            for (var i = 0; i < 6; i++)
                await sender.Manager.QueueAsync("noop", priority: (TaskPriority)(i % 3));
            Assert.Equal((2L, 2L, 2L), await WaitingAsync(sender));
            Assert.Equal(6, await sender.Manager.ClearQueueAsync());
            Assert.Equal(0L, (await sender.Manager.GetQueueStatusAsync()).Length);
        }
        finally
        {
            await RabbitMqCluster.DeleteVhostAsync(vhost);
        }
    }

    private static string[] Cluster(string vhost, int node) =>
        [$"--TaskBus:RabbitMQ:Url={RabbitMqCluster.Url(node, vhost)}", $"--TaskBus:RabbitMQ:Nodes={RabbitMqCluster.Nodes}", $"--TaskBus:RabbitMQ:ManagementUrl={RabbitMqCluster.ManagementUrl(node)}"];

    private static string[] Quorum(string vhost, int node) => [.. Cluster(vhost, node), "--TaskBus:RabbitMQ:QueueType=Quorum"];

    private static int Rank(TaskPriority priority) => priority switch
    {
        TaskPriority.High => 2,
        TaskPriority.Medium => 1,
        _ => 0,
    };

    private static async Task<(long High, long Medium, long Low)> WaitingAsync(PublisherHost queuer)
    {
        var counts = (await queuer.Manager.GetQueueStatusAsync()).ByPriority!;
        return (counts.High, counts.Medium, counts.Low);
    }

    private static async Task<IReadOnlyList<TaskRunEvent>> RunsAsync(PostgresTaskStore store, string task)
    {
        var runs = new List<TaskRunEvent>();
        string? cursor = null;
        do
        {
            var page = await store.QueryRunsAsync(new TaskRunQuery { Task = task, Limit = 1000, Cursor = cursor }, CancellationToken.None);
            runs.AddRange(page.Runs);
            cursor = page.Next;
        }
        while (cursor is not null);
        return runs;
    }
}
