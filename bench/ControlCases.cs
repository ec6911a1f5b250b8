using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.Postgres;
using TaskBus.Storage;
using TaskBus.Worker.Tasks;

namespace TaskBus.Bench;

/// <summary>
/// Latencies of acting on runs after they are queued, on RabbitMQ and the PostgreSQL store, worker and caller in
/// hosts of their own: cancel of a running run to its <c>aborted</c> on the worker; how late delayed runs start after
/// they are due; and the longest wait a batch of run writes had while a prune deleted half of 100,000 stored runs.
/// </summary>
internal static class ControlCases
{
    public static async Task<ControlMeasure> RunAsync(string url, string postgresServer, bool quick)
    {
        await using var database = await BenchDatabase.CreateAsync(postgresServer);
        var cancel = await CancelAsync(url, database.ConnectionString, quick ? 20 : 50);
        var late = await DelayedAsync(url, database.ConnectionString, quick ? 200 : 1000);
        await using var pruneDatabase = await BenchDatabase.CreateAsync(postgresServer);
        var prune = await PruneAsync(pruneDatabase.ConnectionString, quick ? 20_000 : 100_000);
        return new ControlMeasure(
            cancel.Count, Stats.Percentile(cancel, 0.5), Stats.Percentile(cancel, 0.99),
            late.Count, Stats.Percentile(late, 0.5), Stats.Percentile(late, 0.99),
            prune.Runs, prune.PruneMs, prune.BaselineMaxMs, prune.MaxMs);
    }

    private static IHost Host(string url, string queue, string store, bool consume, Action<TaskBusOptions>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddTaskBus(o =>
        {
            o.Transport = TaskBusTransport.RabbitMQ;
            o.RabbitMQ.Url = url;
            o.QueueName = queue;
            o.ScheduleTasks = false;
            o.ConsumeTasks = consume;
            o.MaxConcurrentTasks = 64;
            o.Store.Provider = TaskStoreProvider.PostgreSQL;
            o.Store.ConnectionString = store;
            configure?.Invoke(o);
        }).AddTask<SleepTask>().AddTask<NoopTask>();
        return builder.Build();
    }

    /// <summary>Runs sleeping a minute, cancelled one at a time from another host: milliseconds from the call to the worker's aborted.</summary>
    private static async Task<List<double>> CancelAsync(string url, string store, int runs)
    {
        const string Queue = "taskbus-bench-cancel";
        using var worker = Host(url, Queue, store, consume: true);
        using var caller = Host(url, Queue, store, consume: false);
        await worker.StartAsync();
        await caller.StartAsync();
        try
        {
            var running = new ConcurrentDictionary<string, TaskCompletionSource>();
            var aborted = new ConcurrentDictionary<string, TaskCompletionSource<long>>();
            var workerManager = worker.Services.GetRequiredService<TaskManager>();
            workerManager.RegisterHandler("running.bench", r => running.GetOrAdd(r.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult());
            workerManager.RegisterHandler("aborted.bench", r => aborted.GetOrAdd(r.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(Stopwatch.GetTimestamp()));
            var manager = caller.Services.GetRequiredService<TaskManager>();
            var ids = new List<string>();
            for (var i = 0; i < runs; i++)
                ids.Add((await manager.QueueAsync("sleep", new Contracts.Tasks.Sleep { Ms = 120_000 })).Id);
            foreach (var id in ids)
                await running.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(60));
            var latencies = new List<double>(runs);
            foreach (var id in ids)
            {
                var start = Stopwatch.GetTimestamp();
                await manager.CancelAsync(id, "bench");
                var end = await aborted.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(30));
                latencies.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
            }
            return latencies;
        }
        finally
        {
            await caller.StopAsync();
            await worker.StopAsync();
            await Rabbit.DeleteQueueAsync(url, Queue);
        }
    }

    /// <summary>Runs delayed to times spread over five seconds: milliseconds from each one's due time to its start on the worker.</summary>
    private static async Task<List<double>> DelayedAsync(string url, string store, int runs)
    {
        const string Queue = "taskbus-bench-delayed";
        using var worker = Host(url, Queue, store, consume: true);
        using var caller = Host(url, Queue, store, consume: false);
        await worker.StartAsync();
        await caller.StartAsync();
        try
        {
            var late = new ConcurrentBag<double>();
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            worker.Services.GetRequiredService<TaskManager>().RegisterHandler("running.bench", r =>
            {
                late.Add((r.Start!.Value - r.Due!.Value).TotalMilliseconds);
                if (late.Count == runs)
                    done.TrySetResult();
            });
            var manager = caller.Services.GetRequiredService<TaskManager>();
            var first = DateTimeOffset.UtcNow.AddSeconds(2);
            for (var i = 0; i < runs; i++)
                await manager.QueueAsync("noop", null, new QueueOptions { At = first.AddMilliseconds(Random.Shared.Next(5000)) });
            await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return [.. late];
        }
        finally
        {
            await caller.StopAsync();
            await worker.StopAsync();
            await Rabbit.DeleteQueueAsync(url, Queue);
        }
    }

    /// <summary>
    /// Half of <paramref name="runs"/> stored runs past retention, pruned while a writer upserts batches of 100 runs as the
    /// store writer does: the longest upsert before the prune and while it runs.
    /// </summary>
    private static async Task<(int Runs, double PruneMs, double BaselineMaxMs, double MaxMs)> PruneAsync(string connectionString, int runs)
    {
        await using var store = new PostgresTaskStore(connectionString);
        await store.InitializeAsync(CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var empty = JsonDocument.Parse("{}").RootElement;
        for (var done = 0; done < runs; done += 5000)
        {
            var ended = done < runs / 2 ? now.AddDays(-3) : now.AddHours(-1);
            await store.UpsertRunsAsync([.. Enumerable.Range(0, 5000).Select(_ => new TaskRunEvent
            {
                Id = Guid.NewGuid().ToString("N"),
                Task = "noop",
                State = TaskState.Success,
                Queued = ended.AddSeconds(-1),
                Start = ended.AddSeconds(-1),
                End = ended,
                Params = empty,
                Worker = "bench",
            })], CancellationToken.None);
        }
        var options = Options.Create(new TaskBusOptions());
        options.Value.Store.Retention = TimeSpan.FromDays(1);
        var pruner = new TaskStorePruner(store, options, TimeProvider.System, NullLogger<TaskStorePruner>.Instance);

        async Task<double> WriteWhileAsync(Task until)
        {
            var longest = 0.0;
            do
            {
                var batch = Enumerable.Range(0, 100).Select(_ => new TaskRunEvent
                {
                    Id = Guid.NewGuid().ToString("N"),
                    Task = "noop",
                    State = TaskState.Success,
                    Queued = DateTimeOffset.UtcNow,
                    Start = DateTimeOffset.UtcNow,
                    End = DateTimeOffset.UtcNow,
                    Params = empty,
                    Worker = "bench",
                }).ToList();
                var start = Stopwatch.GetTimestamp();
                await store.UpsertRunsAsync(batch, CancellationToken.None);
                longest = Math.Max(longest, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                await Task.Delay(5);
            }
            while (!until.IsCompleted);
            return longest;
        }

        var baseline = await WriteWhileAsync(Task.Delay(2000));
        var clock = Stopwatch.StartNew();
        var prune = pruner.PruneOnceAsync(CancellationToken.None);
        var during = await WriteWhileAsync(prune);
        var deleted = await prune;
        return (deleted, clock.Elapsed.TotalMilliseconds, baseline, during);
    }
}

internal sealed record ControlMeasure(
    int Cancels, double CancelP50Ms, double CancelP99Ms, int Delayed, double LateP50Ms, double LateP99Ms,
    int Pruned, double PruneMs, double WriteBaselineMaxMs, double WriteDuringPruneMaxMs);
