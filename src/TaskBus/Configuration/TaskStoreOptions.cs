namespace TaskBus;

/// <summary>Where task info and run history are kept (<c>TaskBus:Store</c>).</summary>
public sealed class TaskStoreOptions
{
    /// <summary><c>Memory</c> (one process) or <c>PostgreSQL</c> (shared by every worker). Defaults to <c>Memory</c>.</summary>
    public TaskStoreProvider Provider { get; set; } = TaskStoreProvider.Memory;

    /// <summary>Npgsql connection string when the provider is PostgreSQL. Defaults to empty.</summary>
    public string ConnectionString { get; set; } = "";
}
