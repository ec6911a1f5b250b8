using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskBus.Contracts;
using TaskBus.IntegrationTests.Support;
using TaskBus.Postgres;
using TaskBus.Storage;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>History retention on the real PostgreSQL: what is pruned, and what is not.</summary>
public sealed class RetentionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    [Fact]
    public async Task AHundredThousandRuns_HalfPastRetention_PruneCycles_DeleteEveryExpiredOne_AndNoneOfTheOthers()
    {
        await using var store = new PostgresTaskStore(_postgres.ConnectionString);
        await store.InitializeAsync(CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var expired = new HashSet<string>();
        var kinds = new (int Count, TaskState State, TimeSpan EndedAgo, bool Expired)[]
        {
            (40_000, TaskState.Success, TimeSpan.FromDays(3), true),
            (10_000, TaskState.Failure, TimeSpan.FromDays(3), true),
            (10_000, TaskState.Failure, TimeSpan.FromDays(1.5), false),
            (20_000, TaskState.Success, TimeSpan.FromHours(1), false),
            (10_000, TaskState.Running, TimeSpan.FromDays(3), false),
            (10_000, TaskState.Interrupted, TimeSpan.FromDays(3), false),
        };
        var empty = JsonDocument.Parse("{}").RootElement;
        foreach (var (count, state, ago, isExpired) in kinds)
        {
            for (var done = 0; done < count; done += 5000)
            {
                var batch = Enumerable.Range(0, 5000).Select(_ => new TaskRunEvent
                {
                    Id = Guid.NewGuid().ToString("N"),
                    Task = "add",
                    State = state,
                    Queued = now - ago - TimeSpan.FromSeconds(1),
                    Start = now - ago - TimeSpan.FromSeconds(1),
                    End = state == TaskState.Running ? null : now - ago,
                    Params = empty,
                    Worker = "test",
                }).ToList();
                if (isExpired)
                    expired.UnionWith(batch.Select(r => r.Id));
                await store.UpsertRunsAsync(batch, CancellationToken.None);
            }
        }
        var options = Options.Create(new TaskBusOptions());
        options.Value.Store.Retention = TimeSpan.FromDays(1);
        options.Value.Store.FailureRetention = TimeSpan.FromDays(2);
        var pruner = new TaskStorePruner(store, options, TimeProvider.System, NullLogger<TaskStorePruner>.Instance);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var deleted = await pruner.PruneOnceAsync(CancellationToken.None);
        var again = await pruner.PruneOnceAsync(CancellationToken.None);
        output.WriteLine($"pruned {deleted} of 100000 runs in {clock.ElapsedMilliseconds} ms, batches of {options.Value.Store.PruneBatch}");

        Assert.Equal((50_000, 0), (deleted, again));
        await using var connection = new NpgsqlConnection(_postgres.ConnectionString);
        await connection.OpenAsync();
        await using var left = new NpgsqlCommand("SELECT count(*) FROM taskbus_runs", connection);
        Assert.Equal(50_000L, (long)(await left.ExecuteScalarAsync())!);
        await using var survivors = new NpgsqlCommand("SELECT count(*) FROM taskbus_runs WHERE id = ANY($1)", connection) { Parameters = { new() { Value = expired.ToArray() } } };
        Assert.Equal(0L, (long)(await survivors.ExecuteScalarAsync())!);
    }
}
