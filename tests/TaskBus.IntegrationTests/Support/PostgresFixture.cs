using Npgsql;

namespace TaskBus.IntegrationTests.Support;

/// <summary>
/// A fresh database on the real PostgreSQL for one test class, dropped afterwards. Never optional:
/// if the server cannot be reached the fixture throws and the tests fail with that message.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly string _server = Environment.GetEnvironmentVariable("TaskBus__Store__ConnectionString")
        ?? "Host=localhost;Username=taskbus;Password=taskbus;Database=taskbus";

    private readonly string _database = $"taskbus_test_{Guid.NewGuid():N}";

    /// <summary>
    /// The connection string of this fixture's own database: pooled, as a deployment's is (a connection per statement
    /// made every PostgreSQL test slower than the product), with a pool small enough that the processes of one test stay
    /// within the server's connection limit. The database is dropped WITH (FORCE), pooled sessions or not.
    /// </summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder(_server) { Database = _database, Pooling = true, MaxPoolSize = 16 }.ConnectionString;

    public async Task InitializeAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(_server);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", connection);
            await create.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"PostgreSQL is not reachable with '{_server}': {ex.Message}. Start it with scripts/start-postgres.sh (the test command in README does).", ex);
        }
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", connection);
        try
        {
            await drop.ExecuteNonQueryAsync();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new InvalidOperationException(
                $"Could not drop the test database {_database}: {ex.MessageText}. An autovacuum worker was on it, which only a member of pg_signal_backend may end: scripts/start-postgres.sh grants it to the tests' role.", ex);
        }
    }
}
