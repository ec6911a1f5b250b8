namespace TaskBus.Client;

/// <summary>What a manager is doing, as returned by <see cref="TaskManager.GetStatus"/>.</summary>
public sealed record TaskManagerStatus
{
    /// <summary><c>task_manager</c>, <c>task_consumer</c> or <c>task_scheduler</c>.</summary>
    public required string Type { get; init; }

    /// <summary>This process, as <c>host-pid</c>.</summary>
    public required string Worker { get; init; }

    /// <summary>Registered tasks.</summary>
    public int Tasks { get; init; }

    /// <summary>Runs in progress in this process.</summary>
    public int NumConcurrentTasks { get; init; }

    /// <summary>Most runs this process takes at once.</summary>
    public int MaxConcurrentTasks { get; init; }

    /// <summary>Runs in progress per task name.</summary>
    public IReadOnlyDictionary<string, int> Running { get; init; } = new Dictionary<string, int>();
}
