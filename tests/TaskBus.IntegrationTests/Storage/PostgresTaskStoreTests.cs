using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TaskBus.IntegrationTests.Support;
using TaskBus.Postgres;
using TaskBus.Storage;

namespace TaskBus.IntegrationTests.Storage;

/// <summary>The store contract on a real PostgreSQL, each test in a database of its own.</summary>
public sealed class PostgresTaskStoreTests : TaskStoreContract
{
    private readonly PostgresFixture _database = new();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>
    /// A worker reads the standing of every run it starts: the read must cost the runs it asks about, not the history.
    /// As a plain join the planner hashed every ended run of the table for each read.
    /// </summary>
    [Fact]
    public async Task Standings_ReadOnlyTheRunsAskedAbout_HoweverLongTheHistory()
    {
        var ended = Enumerable.Range(0, 5000).Select(i => new TaskRunEvent
        {
            Id = $"ended-{i}",
            Task = "noop",
            State = TaskState.Success,
            Queued = DateTimeOffset.UtcNow,
            End = DateTimeOffset.UtcNow,
            Params = JsonDocument.Parse("{}").RootElement,
        }).ToList();
        foreach (var chunk in ended.Chunk(1000))
            await Store.UpsertRunsAsync(chunk, CancellationToken.None);
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await using (var analyze = new NpgsqlCommand("ANALYZE taskbus_runs", connection))
            await analyze.ExecuteNonQueryAsync();
        // Runs about to start: 300 queued ones, and a few that ended already.
        var asked = Enumerable.Range(0, 300).Select(i => $"new-{i}").Concat(["ended-1", "ended-4999"]).ToArray();

        await using var explain = new NpgsqlCommand($"EXPLAIN (ANALYZE, FORMAT JSON) {PostgresTaskStore.StandingsQuery}", connection);
        explain.Parameters.Add(new() { Value = asked, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        using var plan = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);

        var scans = Nodes(plan.RootElement[0].GetProperty("Plan")).Where(n => n.TryGetProperty("Relation Name", out var r) && r.GetString() == "taskbus_runs").ToList();
        Assert.NotEmpty(scans);
        Assert.All(scans, n => Assert.Equal("taskbus_runs_pkey", n.TryGetProperty("Index Name", out var index) ? index.GetString() : n.GetProperty("Node Type").GetString()));
        Assert.Equal(2, (await Store.GetStandingsAsync(asked, CancellationToken.None)).Count);

        static IEnumerable<JsonElement> Nodes(JsonElement node) =>
            node.TryGetProperty("Plans", out var children) ? children.EnumerateArray().SelectMany(Nodes).Prepend(node) : [node];
    }

    private protected override async Task<ITaskStore> CreateStoreAsync()
    {
        await _database.InitializeAsync();
        return new PostgresTaskStore(_database.ConnectionString);
    }
}
