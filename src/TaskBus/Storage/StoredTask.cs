using TaskBus.Contracts;

namespace TaskBus.Storage;

/// <summary>What the store keeps of one task.</summary>
internal sealed record StoredTask
{
    /// <summary>The task name.</summary>
    public required string Name { get; init; }

    /// <summary>False once disabled: its ticks queue nothing and its queued runs end aborted.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>When its last finished run ended.</summary>
    public DateTimeOffset? LastRunEnd { get; init; }

    /// <summary>How long its last finished run took, in milliseconds.</summary>
    public double? LastRunDurationMs { get; init; }

    /// <summary>The final state of its last finished run.</summary>
    public TaskState? LastRunState { get; init; }
}
