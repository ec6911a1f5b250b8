namespace TaskBus;

/// <summary>The HTTP API (<c>TaskBus:Http</c>).</summary>
public sealed class TaskHttpOptions
{
    /// <summary>Addresses to listen on, e.g. <c>http://127.0.0.1:8080</c>; empty means no HTTP server. Defaults to empty.</summary>
    public string Urls { get; set; } = "";
}
