using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using TaskBus.Postgres;
using TaskBus.Tasks;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>Acting on runs once they are queued, across processes sharing RabbitMQ and the PostgreSQL store.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed partial class RunControlTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    // Pooled, as a deployment's would be (the fixture's own string opens a connection per statement).
    private string Pooled => new Npgsql.NpgsqlConnectionStringBuilder(_postgres.ConnectionString) { Pooling = true, MaxPoolSize = 8 }.ConnectionString;

    private string[] Store => ["--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={Pooled}"];

    private void SharedStore(TaskBusOptions o)
    {
        o.Store.Provider = TaskStoreProvider.PostgreSQL;
        o.Store.ConnectionString = Pooled;
    }

    [Fact]
    public async Task ACommandLine_CancelsTwentyRunningAndTwentyQueuedRuns_OnTwoWorkers_AllEndAborted_NoneRunsAfter_AndNewRunsSucceed()
    {
        var queue = RabbitMqFixture.NewQueueName("cancel");
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit);
            await using var first = await AppProcess.StartWorkerAsync(rabbit, queue, [.. Store, "--TaskBus:MaxConcurrentTasks=10"]);
            await using var second = await AppProcess.StartWorkerAsync(rabbit, queue, [.. Store, "--TaskBus:MaxConcurrentTasks=10"]);
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue, configure: SharedStore);
            var ids = new List<string>();
            for (var i = 0; i < 40; i++)
                ids.Add((await publisher.Manager.QueueAsync("sleep", new Sleep { Ms = 30_000 })).Id);
            var all = ids.ToHashSet();
            await watcher.WaitForCount(e => all.Contains(e.Id) && e.State == TaskState.Running, 20, TimeSpan.FromSeconds(60));
            var running = ids.Where(id => watcher.EventsOf(id).Any(e => e.State == TaskState.Running)).ToList();
            var waiting = ids.Except(running).ToList();
            Assert.Equal(20, running.Count);

            await using var cancel = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, ["cancel", .. waiting, .. running, "--reason", "cleanup", .. Store]));
            Assert.Equal(0, await cancel.WaitForExitAsync());
            var outcomes = cancel.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(Enumerable.Repeat("cancelled", 20).Concat(Enumerable.Repeat("stopping", 20)), outcomes.Select(o => o.GetProperty("result").GetString()));

            await watcher.WaitForCount(e => all.Contains(e.Id) && e.State == TaskState.Aborted, 40, TimeSpan.FromSeconds(60));
            foreach (var id in ids)
            {
                var events = watcher.EventsOf(id);
                var final = Assert.Single(events, e => e.State.IsFinished());
                Assert.Equal((TaskState.Aborted, "cancelled: cleanup"), (final.State, final.Error));
                Assert.DoesNotContain(events.SkipWhile(e => e.State != TaskState.Aborted), e => e.State == TaskState.Running);
            }
            Assert.All(waiting, id => Assert.DoesNotContain(watcher.EventsOf(id), e => e.State == TaskState.Running));
            await using (var store = new PostgresTaskStore(_postgres.ConnectionString))
            {
                foreach (var id in ids)
                    Assert.Equal(TaskState.Aborted, (await store.GetRunAsync(id, CancellationToken.None))!.State);
            }

            // The twenty slots are free again: ten new runs all succeed.
            var next = new List<string>();
            for (var i = 0; i < 10; i++)
                next.Add((await publisher.Manager.QueueAsync("sleep", new Sleep { Ms = 10 })).Id);
            foreach (var id in next)
                Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(id)).State);
            output.WriteLine($"cancelled 20 queued and 20 running runs; the cancel command took its lines: {string.Join(" | ", cancel.StdoutLines.Take(1))}");
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task Cancel_AnIsolatedRunSpinningOnTheCpu_EndsAborted_AndItsChildProcessIsGone()
    {
        var queue = RabbitMqFixture.NewQueueName("cancel-spin");
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit);
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, Store);
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue, configure: SharedStore);

            var run = await publisher.Manager.QueueAsync("spin", new Spin { Seconds = 60 });
            await watcher.WaitFor(e => e.Id == run.Id && e.State == TaskState.Running);
            var started = await worker.WaitForLineAsync(l => l.Contains($"{run.Id} runs in child process", StringComparison.Ordinal));
            var child = int.Parse(ChildPid().Match(started).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var outcome = await publisher.Manager.CancelAsync(run.Id, "runaway");

            Assert.Equal(CancelResult.Stopping, outcome.Result);
            var final = await watcher.WaitForFinal(run.Id);
            Assert.Equal((TaskState.Aborted, "cancelled: runaway"), (final.State, final.Error));
            Assert.False(Directory.Exists($"/proc/{child}"), $"child process {child} is still there");
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task EightQueuers_TheSameUniqueKeyFiftyTimesEach_AllAtOnce_OneRunExecutes_AndOnceItEndedTheNextQueueRuns()
    {
        var queue = RabbitMqFixture.NewQueueName("unique");
        var queuers = new List<PublisherHost>();
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit);
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, Store);
            for (var i = 0; i < 8; i++)
                queuers.Add(await PublisherHost.StartAsync(rabbit, queue, configure: SharedStore));
            var options = new QueueOptions { UniqueKey = "invoice-7" };

            var runs = await Task.WhenAll(queuers.SelectMany(q => Enumerable.Range(0, 50).Select(_ => Task.Run(() => q.Manager.QueueAsync("sleep", new Sleep { Ms = 500 }, options)))));

            var holder = Assert.Single(runs.Select(r => r.Id).Distinct());
            Assert.Single(runs, r => !r.Deduplicated);
            Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(holder)).State);
            Assert.Single(watcher.Events, e => e.Task == "sleep" && e.State == TaskState.Running);
            // The key is free once the worker's store holds the run ended (a moment after its event): nothing signals that across processes.
            await using (var store = new PostgresTaskStore(_postgres.ConnectionString))
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while ((await store.GetRunAsync(holder, deadline.Token))?.State != TaskState.Success)
                    await Task.Delay(50, deadline.Token);
            }
            var next = await queuers[3].Manager.QueueAsync("sleep", new Sleep { Ms = 10 }, options);
            Assert.False(next.Deduplicated);
            Assert.NotEqual(holder, next.Id);
            Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(next.Id)).State);
        }
        finally
        {
            foreach (var queuer in queuers)
                await queuer.DisposeAsync();
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task AHundredRunsWithAnExpiry_NoWorkerUntilTheyExpired_NoneRuns_AllEndAbortedExpired()
    {
        var queue = RabbitMqFixture.NewQueueName("expires");
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit);
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue, configure: SharedStore);
            var runs = new List<TaskRun>();
            for (var i = 0; i < 100; i++)
                runs.Add(await publisher.Manager.QueueAsync("noop", null, new QueueOptions { Expires = TimeSpan.FromSeconds(2) }));
            var ids = runs.Select(r => r.Id).ToHashSet();
            // The scenario: the worker starts once every run's expiry has passed.
            var last = runs.Max(r => r.ExpiresAt!.Value);
            if (last > DateTimeOffset.UtcNow)
                await Task.Delay(last - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100));

            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, Store);

            await watcher.WaitForCount(e => ids.Contains(e.Id) && e.State.IsFinished(), 100, TimeSpan.FromSeconds(60));
            Assert.All(ids, id =>
            {
                var events = watcher.EventsOf(id);
                Assert.DoesNotContain(events, e => e.State == TaskState.Running);
                var final = Assert.Single(events, e => e.State.IsFinished());
                Assert.Equal((TaskState.Aborted, "expired"), (final.State, final.Error));
            });
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task SkipOverlap_OnAOneSecondScheduleOfAThreeSecondTask_SomeTicksRun_NeverTwoAtOnce_SkippedTicksLogged()
    {
        var queue = RabbitMqFixture.NewQueueName("skip");
        var log = new LogLines();
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit);
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders().AddProvider(log).AddFilter<LogLines>("TaskBus", LogLevel.Information);
            builder.AddTaskBus(o =>
            {
                o.Transport = TaskBusTransport.RabbitMQ;
                o.RabbitMQ.Url = rabbit.Url;
                o.QueueName = queue;
                SharedStore(o);
            }).AddTask<SlowTickTask>();
            using var host = builder.Build();
            await host.StartAsync();
            try
            {
                // Three runs of the task: at least two skipped ticks lie between any two of them.
                await watcher.WaitForCount(e => e.Task == SlowTickTask.Name && e.State == TaskState.Success, 3, TimeSpan.FromSeconds(60));
            }
            finally
            {
                await host.StopAsync();
            }

            var spans = watcher.Events.Where(e => e.Task == SlowTickTask.Name && e.State == TaskState.Success).Select(e => (e.Start!.Value, e.End!.Value)).OrderBy(s => s.Item1).ToList();
            for (var i = 1; i < spans.Count; i++)
                Assert.True(spans[i].Item1 >= spans[i - 1].Item2, $"run {i} started at {spans[i].Item1:O}, before run {i - 1} ended at {spans[i - 1].Item2:O}");
            var skipped = log.Lines.Count(l => l.Contains($"of {SlowTickTask.Name}: its run", StringComparison.Ordinal) && l.Contains("(overlap Skip)", StringComparison.Ordinal));
            Assert.True(skipped >= 2, $"{skipped} skipped ticks logged");
            output.WriteLine($"{spans.Count} runs, {skipped} ticks skipped");
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task TwoHundredFailedRuns_RequeuedByOneFilterFromTheCommandLine_TheDryRunCountsThemFirst_EachNewRunLinkedToItsFailure()
    {
        var queue = RabbitMqFixture.NewQueueName("requeue");
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, ordered: false);
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, [.. Store, "--TaskBus:MaxConcurrentTasks=32"]);
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue, configure: SharedStore);
            var failed = new HashSet<string>();
            for (var i = 0; i < 200; i++)
                failed.Add((await publisher.Manager.QueueAsync("retryable", new Retryable { FailTimes = 10 })).Id);
            // Four rounds each (three retries), the last one final.
            await watcher.WaitForCount(e => failed.Contains(e.Id) && e.State == TaskState.Failure && e.RetryAttempt == 3, 200, TimeSpan.FromSeconds(120));
            await using (var store = new PostgresTaskStore(_postgres.ConnectionString))
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while ((await store.QueryRunsAsync(new TaskBus.Storage.TaskRunQuery { Task = "retryable", State = TaskState.Failure, Limit = 1000 }, deadline.Token)).Runs.Count(r => r.RetryAttempt == 3) < 200)
                    await Task.Delay(50, deadline.Token);
            }
            string[] filter = ["requeue", "--task", "retryable", "--state", "failure", "--limit", "1000", .. Store];

            await using var dry = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, [.. filter, "--dry-run"]));
            Assert.Equal(0, await dry.WaitForExitAsync());
            var dryReport = JsonDocument.Parse(Assert.Single(dry.StdoutLines)).RootElement;
            Assert.Equal((200, 200, true), (dryReport.GetProperty("matched").GetInt32(), dryReport.GetProperty("requeued").GetInt32(), dryReport.GetProperty("dryRun").GetBoolean()));
            await using var requeue = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, filter));
            Assert.Equal(0, await requeue.WaitForExitAsync());
            var report = JsonDocument.Parse(Assert.Single(requeue.StdoutLines)).RootElement;

            Assert.Equal(200, report.GetProperty("requeued").GetInt32());
            var links = report.GetProperty("outcomes").EnumerateArray()
                .Select(o => (Old: o.GetProperty("failed").GetProperty("runId").GetString()!, New: o.GetProperty("newRunId").GetString()!))
                .ToList();
            Assert.Equal(failed.Order(), links.Select(l => l.Old).Order());
            Assert.Equal(200, links.Select(l => l.New).Distinct().Count());
            foreach (var (old, fresh) in links)
                Assert.Equal(old, (await watcher.WaitFor(e => e.Id == fresh && e.State == TaskState.Queued)).FromRunId);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task Pause_TheRunningRunsFinish_RunsQueuedWhilePausedWaitInTheQueue_AndAfterResumeAllSucceed()
    {
        var queue = RabbitMqFixture.NewQueueName("pause");
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, ordered: false);
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, [.. Store, "--TaskBus:MaxConcurrentTasks=2"]);
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue, configure: SharedStore);
            var running = new[] { await publisher.Manager.QueueAsync("sleep", new Sleep { Ms = 1500 }), await publisher.Manager.QueueAsync("sleep", new Sleep { Ms = 1500 }) };
            foreach (var run in running)
                await watcher.WaitFor(e => e.Id == run.Id && e.State == TaskState.Running);

            await using var pause = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, ["pause", .. Store]));
            Assert.Equal(0, await pause.WaitForExitAsync());
            await worker.WaitForLineAsync(l => l.Contains($"Paused: group {queue} takes no runs", StringComparison.Ordinal));
            foreach (var run in running)
                Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(run.Id)).State);
            Assert.True(await publisher.Manager.IsPausedAsync());
            var waiting = new List<string>();
            for (var i = 0; i < 20; i++)
                waiting.Add((await publisher.Manager.QueueAsync("noop")).Id);

            // Confirmed by the broker, and in the queue: the paused worker holds none of them.
            Assert.Equal(20u, await rabbit.MessageCountAsync(queue));
            Assert.DoesNotContain(watcher.Events, e => waiting.Contains(e.Id) && e.State == TaskState.Running);
            await using var resume = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, ["resume", .. Store]));
            Assert.Equal(0, await resume.WaitForExitAsync());
            foreach (var id in waiting)
                Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(id)).State);
            Assert.False(await publisher.Manager.IsPausedAsync());
            Assert.Contains($"Resumed: group {queue} takes runs again", worker.Output, StringComparison.Ordinal);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task AThousandRunsDueTheSameSecond_AndAHundredSpreadOverTenSeconds_DueAfterTheWorkersRestarted_EachRunsOnce_NoneEarly_NoQueuePerDelay()
    {
        var queue = RabbitMqFixture.NewQueueName("delayed");
        var (vhost, url) = await rabbit.CreateVhostAsync();
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit, url: url, ordered: false);
            // Disposed on every path: a worker left running by a failed test would poll the store and broker for good.
            await using var first = await AppProcess.StartWorkerAsync(rabbit, queue, [.. Store, $"--TaskBus:RabbitMQ:Url={url}"]);
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue, url, SharedStore);
            var due = DateTimeOffset.UtcNow.AddSeconds(8);
            var runs = new List<TaskRun>();
            for (var i = 0; i < 1000; i++)
                runs.Add(await publisher.Manager.QueueAsync("noop", null, new QueueOptions { At = due }));
            for (var i = 0; i < 100; i++)
                runs.Add(await publisher.Manager.QueueAsync("noop", null, new QueueOptions { Delay = due - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(0.1 * i) }));
            Assert.All(runs, r => Assert.Equal(TaskState.Queued, r.State));
            var ids = runs.Select(r => r.Id).ToHashSet();

            // Every worker restarts before the first run is due: the runs wait in the store, not in a process.
            Assert.Equal(0, await first.StopAsync());
            await first.DisposeAsync();
            await using var second = await AppProcess.StartWorkerAsync(rabbit, queue, [.. Store, $"--TaskBus:RabbitMQ:Url={url}"]);
            await using var third = await AppProcess.StartWorkerAsync(rabbit, queue, [.. Store, $"--TaskBus:RabbitMQ:Url={url}"]);
            Assert.True(DateTimeOffset.UtcNow < due, "the workers took longer to restart than the delay");

            await watcher.WaitForCount(e => ids.Contains(e.Id) && e.State == TaskState.Success, 1100, TimeSpan.FromSeconds(90));
            var late = new List<double>();
            foreach (var run in runs)
            {
                var events = watcher.EventsOf(run.Id);
                var started = Assert.Single(events, e => e.State == TaskState.Running);
                Assert.Single(events, e => e.State == TaskState.Success);
                Assert.True(started.Start >= run.Due, $"{run.Id} started {started.Start:O}, due {run.Due:O}");
                late.Add((started.Start!.Value - run.Due!.Value).TotalMilliseconds);
            }
            late.Sort();
            output.WriteLine($"started after due: p50 {late[late.Count / 2]:0} ms, p99 {late[(int)(late.Count * 0.99)]:0} ms, max {late[^1]:0} ms");
            var queues = await RabbitMqFixture.CtlOutputAsync("list_queues", "-p", vhost, "name", "--quiet", "--no-table-headers");
            Assert.DoesNotContain("_delay", queues, StringComparison.Ordinal);
        }
        finally
        {
            await RabbitMqFixture.DeleteVhostAsync(vhost);
        }
    }

    [Fact]
    public async Task TheCommandLine_WithoutTheSharedStore_RefusesToCancelOrQueueUnique_NamingTheSetting()
    {
        var queue = RabbitMqFixture.NewQueueName("no-store");
        try
        {
            await using var cancel = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, ["cancel", Guid.NewGuid().ToString()]));
            await using var unique = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, ["queue", "noop", "--unique-key", "k"]));
            await using var badExpiry = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, ["queue", "noop", "--expires", "later"]));

            Assert.Equal((2, 2, 2), (await cancel.WaitForExitAsync(), await unique.WaitForExitAsync(), await badExpiry.WaitForExitAsync()));
            Assert.Contains("Error: TaskBus:Store:Provider: cancel needs the store the workers share", cancel.Output, StringComparison.Ordinal);
            Assert.Contains("Error: TaskBus:Store:Provider: a unique run needs the store the workers share", unique.Output, StringComparison.Ordinal);
            Assert.Contains("Error: --expires 'later' is not a duration", badExpiry.Output, StringComparison.Ordinal);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [GeneratedRegex(@"runs in child process (\d+)")]
    private static partial Regex ChildPid();

    /// <summary>Params of <see cref="SlowTickTask"/>.</summary>
    public sealed record SlowTick
    {
        public int Ms { get; init; } = 3000;
    }

    /// <summary>A 3 s task on a 1 s schedule that never overlaps itself.</summary>
    [Task(Name)]
    [Every(1, Overlap = OverlapPolicy.Skip)]
    public sealed class SlowTickTask : ITask<SlowTick>
    {
        public const string Name = "slow_tick";

        public Task ExecuteAsync(SlowTick parameters, CancellationToken cancellationToken) => Task.Delay(parameters.Ms, cancellationToken);
    }

    /// <summary>Every log line, as text.</summary>
    private sealed class LogLines : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void Dispose()
        {
        }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception));
        }
    }
}
