using TaskBus.Contracts;

namespace TaskBus.Storage;

/// <summary>One page of stored runs.</summary>
/// <param name="Runs">The runs, newest queued first.</param>
/// <param name="Next">The cursor of the next page, or null if this is the last.</param>
internal sealed record TaskRunPage(IReadOnlyList<TaskRunEvent> Runs, string? Next);
