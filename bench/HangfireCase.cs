using System.Diagnostics;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.Redis.StackExchange;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace TaskBus.Bench;

/// <summary>
/// The peer: the same no-op job through Hangfire 1.8, on Redis (scripts/start-redis.sh) or PostgreSQL, in one
/// process that enqueues and runs it, with as many Hangfire workers as TaskBus has slots.
/// </summary>
internal static class HangfireCase
{
    private static Counter? _counter;

    /// <summary>The job: counts itself, nothing else.</summary>
    public static void Noop() => _counter!.Increment();

    public static async Task<double> RedisAsync(string redis, int jobs, int workers)
    {
        var prefix = $"taskbus-bench-{Guid.NewGuid():N}:";
        try
        {
            return await RunAsync(c => c.UseRedisStorage(redis, new RedisStorageOptions { Prefix = prefix }), jobs, workers);
        }
        finally
        {
            // Hangfire keeps finished jobs for a day: the bench removes every key it made.
            await using var connection = await ConnectionMultiplexer.ConnectAsync($"{redis},allowAdmin=true");
            var database = connection.GetDatabase();
            foreach (var endpoint in connection.GetEndPoints())
                await foreach (var key in connection.GetServer(endpoint).KeysAsync(pattern: prefix + "*"))
                    await database.KeyDeleteAsync(key);
        }
    }

    public static async Task<double> PostgresAsync(string postgresServer, int jobs, int workers)
    {
        await using var database = await BenchDatabase.CreateAsync(postgresServer);
        return await RunAsync(c => c.UsePostgreSqlStorage(o => o.UseNpgsqlConnection(database.ConnectionString), new PostgreSqlStorageOptions
        {
            // Its default polls the queue every 15 s; LISTEN/NOTIFY hands a new job to a waiting worker at once.
            EnableLongPolling = true,
            QueuePollInterval = TimeSpan.FromMilliseconds(200),
            PrepareSchemaIfNecessary = true,
        }), jobs, workers);
    }

    private static async Task<double> RunAsync(Action<IGlobalConfiguration> storage, int jobs, int workers)
    {
        var counter = _counter = new Counter();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddHangfire(c => storage(c.UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings()));
        builder.Services.AddHangfireServer(o => o.WorkerCount = workers);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<IBackgroundJobClient>();
            await EnqueueAndWaitAsync(client, counter, Math.Min(jobs, 200));
            var clock = Stopwatch.StartNew();
            await EnqueueAndWaitAsync(client, counter, jobs);
            return jobs / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await host.StopAsync();
        }
    }

    // Enqueueing is synchronous in Hangfire: eight callers at once, as a busy web app would.
    private static async Task EnqueueAndWaitAsync(IBackgroundJobClient client, Counter counter, int jobs)
    {
        var done = counter.Reset(jobs);
        await Parallel.ForAsync(0, jobs, new ParallelOptions { MaxDegreeOfParallelism = 8 }, (_, _) =>
        {
            client.Enqueue(() => Noop());
            return ValueTask.CompletedTask;
        });
        await done.WaitAsync(TimeSpan.FromMinutes(10));
    }
}
