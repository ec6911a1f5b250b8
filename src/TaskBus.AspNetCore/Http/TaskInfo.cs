using TaskBus.Contracts;

namespace TaskBus.Http;

/// <summary>A task as the HTTP API shows it: its options and what the store keeps of it.</summary>
internal sealed record TaskInfo
{
    /// <summary>The task name.</summary>
    public required string Name { get; init; }

    /// <summary>What it does.</summary>
    public string Description { get; init; } = "";

    /// <summary>Default priority of its runs.</summary>
    public TaskPriority Priority { get; init; }

    /// <summary>Its schedule as text, or null.</summary>
    public string? Schedule { get; init; }

    /// <summary>Its tags, sorted.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>False once disabled.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>When its last finished run ended.</summary>
    public DateTimeOffset? LastRunEnd { get; init; }

    /// <summary>How long its last finished run took, in milliseconds.</summary>
    public double? LastRunDuration { get; init; }

    /// <summary>The final state of its last finished run.</summary>
    public TaskState? LastRunState { get; init; }
}
