using MassTransit;
using Npgsql;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>
/// PostgreSQL going away under two workers, through a TCP proxy the test cuts (the server itself stays up for the
/// other tests): no run is lost, none runs twice unless marked redelivered, none reaches the error queue, and each
/// ends with its final state stored once the store is back.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class StoreOutageTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    private const int Runs = 600;

    [Theory]
    [InlineData(10)]
    [InlineData(60)]
    public async Task PostgresAwayAfterThe100thSuccess_TwoWorkers600Runs_EachSucceedsOnceStoredOnce_NoneInTheErrorQueue(int seconds)
    {
        var queue = RabbitMqFixture.NewQueueName("store-outage");
        await using var store = await ProxiedStore.StartAsync();
        var (postgres, proxy, proxied) = (store.Postgres, store.Proxy, store.ConnectionString);
        var workers = new List<AppProcess>();
        try
        {
            string[] args = ["--TaskBus:MaxConcurrentTasks=4", "--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={proxied}"];
            for (var i = 0; i < 2; i++)
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, args));
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var ids = Enumerable.Range(0, Runs).Select(_ => NewId.NextGuid()).ToList();
            foreach (var id in ids)
                await watcher.Bus.Publish(new Sleep { Ms = 100 }, c => c.MessageId = id);

            await watcher.WaitFor(_ => watcher.Events.Count(e => e.State == TaskState.Success) >= 100);
            proxy.Cut();
            var succeededBefore = watcher.Events.Count(e => e.State == TaskState.Success);
            // The outage lasts this long: the scenario's length, not a wait for something to happen.
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var succeededDuring = watcher.Events.Count(e => e.State == TaskState.Success) - succeededBefore;
            proxy.Restore();

            foreach (var id in ids)
                await watcher.WaitFor(e => e.Id == id.ToString("N") && e.State.IsFinished(), TimeSpan.FromMinutes(2));

            // The store's record, read past the proxy.
            await StoredStatesAsync(postgres.ConnectionString, Runs);
            await using var history = new TaskBus.Postgres.PostgresTaskStore(postgres.ConnectionString);
            var notStored = new List<string>();
            var redeliveredRuns = 0;
            foreach (var id in ids.Select(i => i.ToString("N")))
            {
                var stored = await history.GetRunAsync(id, CancellationToken.None);
                if (stored is not { State: TaskState.Success })
                    notStored.Add($"{id}: {stored?.State.ToWire() ?? "absent"}");
                else if (stored.Redelivered)
                    redeliveredRuns++;
            }
            var successes = ids.Select(i => watcher.EventsOf(i.ToString("N")).Count(e => e.State == TaskState.Success)).ToList();
            var ranAgain = ids.Where(i => watcher.EventsOf(i.ToString("N")).Count(e => e.State == TaskState.Running) > 1).ToList();
            var errors = await rabbit.MessageCountOrZeroAsync(queue + "_error");
            var downLines = workers.Sum(w => w.StdoutLines.Count(l => l.Contains("The task store cannot be reached", StringComparison.Ordinal)));
            var backLines = workers.Select(w => w.StdoutLines.LastOrDefault(l => l.Contains("The task store is back after", StringComparison.Ordinal))).ToList();
            output.WriteLine(
                $"{Runs} runs, store away {seconds} s after {succeededBefore} successes ({Runs - succeededBefore} waiting); {succeededDuring} succeeded during " +
                $"the outage; ran again: {ranAgain.Count} (redelivered: {redeliveredRuns}); error queue: {errors}; 'cannot be reached' lines: {downLines}; " +
                $"back: {string.Join(" | ", backLines)}");

            Assert.True(Runs - succeededBefore >= 400, $"only {Runs - succeededBefore} runs were waiting when the store went away");
            Assert.Empty(notStored);
            Assert.All(successes, count => Assert.Equal(1, count));
            Assert.All(ranAgain, id => Assert.Contains(watcher.EventsOf(id.ToString("N")), e => e.Redelivered));
            Assert.Equal(0u, errors);
            // One line when the store went away and one when it came back, per worker: not one per run.
            Assert.Equal(workers.Count, downLines);
            Assert.All(backLines, Assert.NotNull);
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task PostgresRestartedThreeTimesInAMinute_While20000RunsAreQueuedAsFastAsOneQueuerCan_EachSucceedsOnceStoredOnce()
    {
        const int count = 20_000;
        var queue = RabbitMqFixture.NewQueueName("store-restarts");
        await using var store = await ProxiedStore.StartAsync();
        var (postgres, proxy, proxied) = (store.Postgres, store.Proxy, store.ConnectionString);
        var workers = new List<AppProcess>();
        try
        {
            string[] args = ["--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={proxied}"];
            for (var i = 0; i < 2; i++)
                workers.Add(await AppProcess.StartWorkerAsync(rabbit, queue, args));
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue, ordered: false);
            await using var queuer = await PublisherHost.StartAsync(rabbit, queue, configure: o =>
            {
                o.Store.Provider = TaskStoreProvider.PostgreSQL;
                o.Store.ConnectionString = proxied;
            });

            // The store restarts three times, 2 s down each, at 2 s, 7 s and 12 s: while the queuer queues.
            var restarts = Task.Run(async () =>
            {
                for (var i = 0; i < 3; i++)
                {
                    await Task.Delay(TimeSpan.FromSeconds(i == 0 ? 2 : 3));
                    proxy.Cut();
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    proxy.Restore();
                }
            });
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var ids = new string[count];
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
                ids[i] = (await queuer.Manager.QueueAsync("noop", new Noop(), cancellationToken: token)).Id);
            var queueSeconds = clock.Elapsed.TotalSeconds;
            await restarts;

            await watcher.WaitForCount(e => e.State == TaskState.Success, count, TimeSpan.FromMinutes(5));
            var states = await StoredStatesAsync(postgres.ConnectionString, count);
            await using var connection = new NpgsqlConnection(postgres.ConnectionString);
            await connection.OpenAsync();
            var lastSuccess = watcher.Events.Where(e => e.State == TaskState.Success).Select(e => e.Id).ToList();
            await using (var notDone = new NpgsqlCommand("SELECT id, state FROM taskbus_runs WHERE state <> 'success'", connection))
            await using (var reader = await notDone.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                    output.WriteLine($"stored {reader.GetString(1)}: {reader.GetString(0)}, success event {lastSuccess.IndexOf(reader.GetString(0))} of {lastSuccess.Count}");
            }
            var byRun = watcher.Events.GroupBy(e => e.Id).ToDictionary(g => g.Key, g => g.ToList());
            var notOnce = ids.Where(id => !byRun.TryGetValue(id, out var events) || events.Count(e => e.State == TaskState.Success) != 1).ToList();
            var ranAgain = ids.Where(id => byRun[id].Count(e => e.State == TaskState.Running) > 1).ToList();
            var errors = await rabbit.MessageCountOrZeroAsync(queue + "_error");
            output.WriteLine(
                $"{count} runs queued in {queueSeconds:0.0} s ({count / queueSeconds:0} runs/s) through three store restarts; stored: " +
                $"{string.Join(", ", states.Select(s => $"{s.Key} {s.Value}"))}; ran again: {ranAgain.Count}; error queue: {errors}");

            Assert.Equal(new Dictionary<string, long> { ["success"] = count }, states);
            Assert.Empty(notOnce);
            Assert.All(ranAgain, id => Assert.Contains(byRun[id], e => e.Redelivered));
            Assert.Equal(0u, errors);
            Assert.Equal(3, proxy.Cuts);
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task AWorkerStoppedWhileItsRunsWaitForTheStore_GivesThemBack_AndAnotherWorkerEndsThemWhenTheStoreIsBack()
    {
        var queue = RabbitMqFixture.NewQueueName("store-sigterm");
        await using var store = await ProxiedStore.StartAsync();
        var (postgres, proxy, proxied) = (store.Postgres, store.Proxy, store.ConnectionString);
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var ids = Enumerable.Range(0, 8).Select(_ => NewId.NextGuid()).ToList();
            string[] args = ["--TaskBus:MaxConcurrentTasks=4", "--TaskBus:ExtraPrefetch=0", "--TaskBus:StoppingGracePeriod=00:00:01", "--TaskBus:Store:Provider=PostgreSQL"];
            await using (var first = await AppProcess.StartWorkerAsync(rabbit, queue, [.. args, $"--TaskBus:Store:ConnectionString={proxied}"]))
            {
                // A first run, so the worker has read the task's enabled flag: it stands while the store is away.
                var warm = NewId.NextGuid();
                await watcher.Bus.Publish(new Sleep { Ms = 10 }, c => c.MessageId = warm);
                await watcher.WaitForFinal(warm.ToString("N"));
                await StoredStatesAsync(postgres.ConnectionString, 1);
                proxy.Cut();
                foreach (var id in ids)
                    await watcher.Bus.Publish(new Sleep { Ms = 10 }, c => c.MessageId = id);
                // Runs ran (up to four at once) and wait for the store to take their end; the others wait in the queue.
                try
                {
                    await watcher.WaitForCount(e => e.State == TaskState.Success, 1 + 1, TimeSpan.FromSeconds(60));
                }
                catch (TimeoutException ex)
                {
                    throw new TimeoutException($"{ex.Message}; events: {string.Join(", ", watcher.Events.Select(e => e.State.ToWire()))}; the worker printed:\n{first.Output}", ex);
                }
                Assert.Equal(0, await first.StopAsync());
                Assert.Contains(first.StdoutLines, l => l.Contains("The task store cannot be reached", StringComparison.Ordinal));
            }
            // Every run not ended in the store is back in the queue: the held ones and those never taken.
            Assert.True(await rabbit.MessageCountAsync(queue) >= ids.Count);
            proxy.Restore();

            await using var second = await AppProcess.StartWorkerAsync(rabbit, queue, [.. args, $"--TaskBus:Store:ConnectionString={proxied}"]);
            foreach (var id in ids)
                await watcher.WaitFor(e => e.Id == id.ToString("N") && e.State == TaskState.Success && e.Worker.EndsWith($"-{second.Pid}", StringComparison.Ordinal));
            var states = await StoredStatesAsync(postgres.ConnectionString, 1 + ids.Count);
            var ranTwice = ids.Select(i => i.ToString("N")).Where(id => watcher.EventsOf(id).Count(e => e.State == TaskState.Running) == 2).ToList();

            Assert.Equal(new Dictionary<string, long> { ["success"] = 1 + ids.Count }, states);
            output.WriteLine($"runs held by the stopped worker and run again: {ranTwice.Count}");
            // The runs that ran on the stopped worker ran again, marked redelivered; at most four ran there at once.
            Assert.InRange(ranTwice.Count, 1, 4);
            Assert.All(ranTwice, id => Assert.True(watcher.EventsOf(id).Last(e => e.State == TaskState.Running).Redelivered));
            Assert.Equal(0u, await rabbit.MessageCountOrZeroAsync(queue + "_error"));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    /// <summary>
    /// The stored runs by state, once <paramref name="successes"/> are stored as success or a minute has passed. A
    /// run's success event leaves its worker before its row is written (its message is acknowledged after): the last
    /// rows may be a batch behind the last event. Nothing signals the store, so it is read until done.
    /// </summary>
    private static async Task<Dictionary<string, long>> StoredStatesAsync(string connectionString, int successes)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var states = new Dictionary<string, long>();
        var deadline = DateTimeOffset.UtcNow.AddMinutes(1);
        while (true)
        {
            states.Clear();
            await using var read = new NpgsqlCommand("SELECT state, count(*) FROM taskbus_runs GROUP BY state", connection);
            await using (var reader = await read.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                    states[reader.GetString(0)] = reader.GetInt64(1);
            }
            if (states.GetValueOrDefault("success") >= successes || DateTimeOffset.UtcNow > deadline)
                return states;
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>A fresh database, reached by the workers through a proxy the test can cut; both gone at dispose.</summary>
    private sealed class ProxiedStore : IAsyncDisposable
    {
        private ProxiedStore(PostgresFixture postgres, TcpProxy proxy)
        {
            Postgres = postgres;
            Proxy = proxy;
            ConnectionString = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = true }.ConnectionString;
        }

        public PostgresFixture Postgres { get; }

        public TcpProxy Proxy { get; }

        /// <summary>The database through the proxy, pooled as a worker's would be.</summary>
        public string ConnectionString { get; }

        public static async Task<ProxiedStore> StartAsync()
        {
            var postgres = new PostgresFixture();
            await postgres.InitializeAsync();
            var direct = new NpgsqlConnectionStringBuilder(postgres.ConnectionString);
            return new ProxiedStore(postgres, TcpProxy.Start(direct.Host!, direct.Port));
        }

        public async ValueTask DisposeAsync()
        {
            await Proxy.DisposeAsync();
            await Postgres.DisposeAsync();
        }
    }
}
