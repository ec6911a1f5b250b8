namespace TaskBus.Http;

/// <summary>The body of <c>PATCH /tasks/{name}</c>.</summary>
internal sealed record TaskPatch
{
    /// <summary>Enable or disable the task; unchanged when absent.</summary>
    public bool? Enabled { get; init; }
}
