namespace TaskBus.Storage;

/// <summary>A worker's last heartbeat.</summary>
internal sealed record WorkerStatus
{
    /// <summary>The worker, as <c>host-pid</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The machine it runs on.</summary>
    public required string Host { get; init; }

    /// <summary>Runs in progress when it last reported.</summary>
    public int RunningTasks { get; init; }

    /// <summary>When it last reported.</summary>
    public DateTimeOffset LastHeartbeat { get; init; }
}
