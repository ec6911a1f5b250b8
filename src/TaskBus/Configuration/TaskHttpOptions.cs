namespace TaskBus.Configuration;

/// <summary>The HTTP API and dashboard (<c>TaskBus:Http</c>), served by the <c>TaskBus.AspNetCore</c> package.</summary>
public sealed class TaskHttpOptions
{
    /// <summary>Addresses to listen on, e.g. <c>http://127.0.0.1:8080</c>; empty means no HTTP server. Defaults to empty.</summary>
    public string Urls { get; set; } = "";

    /// <summary>
    /// The key a client sends in the <c>X-Api-Key</c> header (the dashboard: once, through its sign-in form).
    /// Without a key or an <see cref="AuthorizationPolicy"/>, the API and dashboard only serve loopback addresses.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The name of an ASP.NET Core authorization policy the API and dashboard require, instead of or beside the key.</summary>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>
    /// The largest request body the API reads, in bytes: a run's params, a patch, a list of run ids. A body over it is
    /// refused with 413 before it is read in full (at once when it says its length). Defaults to 1 MiB (1048576).
    /// </summary>
    public long MaxRequestBodySize { get; set; } = 1024 * 1024;

    /// <summary>True when a key or a policy guards the API and dashboard.</summary>
    public bool IsGuarded => !string.IsNullOrEmpty(ApiKey) || !string.IsNullOrEmpty(AuthorizationPolicy);
}
