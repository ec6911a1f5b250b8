namespace TaskBus.Configuration;

/// <summary>Where task info and run history are kept (<c>TaskBus:Store</c>).</summary>
public sealed class TaskStoreOptions
{
    private TaskStoreProvider _provider = TaskStoreProvider.Memory;
    private string _connectionString = "";

    /// <summary><c>Memory</c> (one process) or <c>PostgreSQL</c> (shared by every worker). Defaults to <c>Memory</c>.</summary>
    public TaskStoreProvider Provider
    {
        get => _provider;
        set => _provider = Guard.Set("Store:Provider", _provider, value);
    }

    /// <summary>Npgsql connection string when the provider is PostgreSQL. Defaults to empty.</summary>
    public string ConnectionString
    {
        get => _connectionString;
        set => _connectionString = Guard.Set("Store:ConnectionString", _connectionString, value, show: false);
    }

    /// <summary>
    /// How long a run that has ended is kept in the history, counted from its end; older ones are deleted by the
    /// consuming workers (<see cref="PruneInterval"/>). Null (the default): kept for ever; an upgrade never deletes
    /// history nobody asked to delete.
    /// </summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>How long a run that ended <c>failure</c> is kept. Null (the default): as <see cref="Retention"/>.</summary>
    public TimeSpan? FailureRetention { get; set; }

    /// <summary>How often a consuming worker prunes the history. Defaults to 1 minute.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Runs deleted per statement while pruning: small batches never hold up the writes of runs. Defaults to 1,000.</summary>
    public int PruneBatch { get; set; } = 1000;

    internal ReadByAddTaskBus Guard { get; set; } = new();
}
