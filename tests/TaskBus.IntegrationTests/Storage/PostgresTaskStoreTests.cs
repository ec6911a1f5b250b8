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

    private protected override async Task<ITaskStore> CreateStoreAsync()
    {
        await _database.InitializeAsync();
        return new PostgresTaskStore(_database.ConnectionString);
    }
}
