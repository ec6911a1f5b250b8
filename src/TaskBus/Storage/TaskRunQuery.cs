using TaskBus.Contracts;

namespace TaskBus.Storage;

/// <summary>A history query: all filters optional; newest queued first.</summary>
internal sealed record TaskRunQuery
{
    /// <summary>Only runs of this task.</summary>
    public string? Task { get; init; }

    /// <summary>
    /// Only runs of any of these tasks (the HTTP API's <c>tags</c> filter becomes the tasks that carry any of the
    /// tags); null for all. Combined with <see cref="Task"/>, a run must match both.
    /// </summary>
    public IReadOnlyCollection<string>? Tasks { get; init; }

    /// <summary>
    /// Only runs whose params contain this JSON object, as PostgreSQL's <c>@&gt;</c> has it: every property given
    /// has the value given, nested objects likewise, an array contains the elements given. Params are matched as
    /// stored, so a <see cref="Contracts.SecretAttribute">secret</see> property never matches its real value.
    /// </summary>
    public System.Text.Json.JsonElement? Params { get; init; }

    /// <summary>
    /// Only runs of this worker group (<see cref="TaskRunEvent.Queue"/>), and those stored before runs kept their group;
    /// null for every group.
    /// </summary>
    public string? Queue { get; init; }

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
