namespace TaskBus.Http;

/// <summary>The body of <c>POST /tasks-errors/requeue</c> and <c>/discard</c>: which failed runs; none (or no body): all.</summary>
internal sealed record ErrorSelection
{
    /// <summary>The failed runs' ids; null for every message in the error queue.</summary>
    public IReadOnlyList<string>? RunIds { get; init; }
}
