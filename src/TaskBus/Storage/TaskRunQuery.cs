using TaskBus.Contracts;

namespace TaskBus.Storage;

/// <summary>A history query: all filters optional; newest queued first.</summary>
public sealed record TaskRunQuery
{
    /// <summary>Only runs of this task.</summary>
    public string? Task { get; init; }

    /// <summary>Only runs in this state.</summary>
    public TaskState? State { get; init; }

    /// <summary>Only runs queued at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only runs queued before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Page size, 1 to 1000. Defaults to 50.</summary>
    public int Limit { get; init; } = 50;

    /// <summary>The <see cref="TaskRunPage.Next"/> of the previous page, or null for the first.</summary>
    public string? Cursor { get; init; }
}
