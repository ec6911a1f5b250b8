namespace TaskBus.Http;

/// <summary>
/// The body of <c>POST /tasks-errors/requeue</c> and <c>/discard</c>: which failed runs, by id, or all of them. Naming
/// neither is a 422: all is never the default.
/// </summary>
internal sealed record ErrorSelection
{
    /// <summary>The failed runs' ids.</summary>
    public IReadOnlyList<string>? RunIds { get; init; }

    /// <summary>Every message in the error queue (instead of runIds).</summary>
    public bool All { get; init; }
}
