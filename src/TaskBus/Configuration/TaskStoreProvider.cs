namespace TaskBus.Configuration;

/// <summary>Where task info and run history are kept.</summary>
public enum TaskStoreProvider
{
    /// <summary>In this process's memory: one process, gone when it stops.</summary>
    Memory,

    /// <summary>PostgreSQL, shared by every worker of the deployment.</summary>
    PostgreSQL,
}
