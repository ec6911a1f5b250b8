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

    internal ReadByAddTaskBus Guard { get; set; } = new();
}
