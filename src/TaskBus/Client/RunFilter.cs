using TaskBus.Contracts;

namespace TaskBus.Client;

/// <summary>Which runs of the history an action takes: all filters optional; newest queued first, at most <see cref="Limit"/>.</summary>
public sealed record RunFilter
{
    /// <summary>Only runs of this task.</summary>
    public string? Task { get; init; }

    /// <summary>Only runs in this state.</summary>
    public TaskState? State { get; init; }

    /// <summary>Only runs queued at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only runs queued before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>At most this many runs, 1 to 100,000. Defaults to 100.</summary>
    public int Limit { get; init; } = 100;
}
