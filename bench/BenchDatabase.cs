using Npgsql;

namespace TaskBus.Bench;

/// <summary>A PostgreSQL database of the bench's own on the given server, dropped when disposed.</summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly string _server;
    private readonly string _name;

    private BenchDatabase(string server, string name)
    {
        _server = server;
        _name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    public string ConnectionString { get; }

    public static async Task<BenchDatabase> CreateAsync(string server)
    {
        var database = new BenchDatabase(server, $"taskbus_bench_{Guid.NewGuid():N}"[..28]);
        await database.ExecuteAsync($"CREATE DATABASE {database._name}");
        return database;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        // The store's own pool closes with its host; a connection still closing makes the drop wait a moment.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync($"DROP DATABASE IF EXISTS {_name}");
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 50)
            {
                await Task.Delay(200);
            }
        }
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_server) { Database = "postgres" }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>What PostgreSQL counted for a database so far: commits, rows written and read, WAL written (server-wide).</summary>
    public static async Task<PgCounters> CountersAsync(string connectionString)
    {
        // Each backend publishes its counts at the end of a transaction, at most a second late.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT pg_stat_force_next_flush(); SELECT xact_commit, tup_inserted, tup_updated, tup_fetched, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint "
            + "FROM pg_stat_database WHERE datname = current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.NextResultAsync();
        await reader.ReadAsync();
        return new PgCounters(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }
}

/// <summary>PostgreSQL's counts for one database (WAL for the server), to tell what a run costs the store.</summary>
internal readonly record struct PgCounters(long Commits, long Inserted, long Updated, long Fetched, long WalBytes)
{
    public static PgCounters operator -(PgCounters a, PgCounters b) =>
        new(a.Commits - b.Commits, a.Inserted - b.Inserted, a.Updated - b.Updated, a.Fetched - b.Fetched, a.WalBytes - b.WalBytes);
}
