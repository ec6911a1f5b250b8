using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using TaskBus.Configuration;

namespace TaskBus.Http.Security;

/// <summary>
/// The rule in front of the API and the dashboard: with an API key, a request carries it (header
/// <see cref="HeaderName"/>, or the dashboard's cookie); without a key or policy, only loopback is served.
/// </summary>
internal sealed class TaskBusAccess
{
    public const string HeaderName = "X-Api-Key";
    public const string CookieName = "taskbus-api-key";
    private readonly byte[]? _keyHash;
    private readonly bool _guarded;

    public TaskBusAccess(TaskHttpOptions options)
    {
        _keyHash = string.IsNullOrEmpty(options.ApiKey) ? null : Hash(options.ApiKey);
        _guarded = options.IsGuarded;
    }

    public bool RequiresKey => _keyHash is not null;

    /// <summary>Compares in constant time: both sides are hashed first, so not even the length leaks.</summary>
    public bool IsValidKey(string? candidate) =>
        _keyHash is not null && candidate is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(Hash(candidate), _keyHash);

    /// <summary>Null when the request may go on; otherwise the status that refuses it.</summary>
    public int? Refuse(HttpContext context)
    {
        if (_keyHash is not null)
        {
            var given = context.Request.Headers[HeaderName].ToString();
            if (given.Length == 0)
                given = context.Request.Cookies[CookieName] ?? "";
            return IsValidKey(given) ? null : StatusCodes.Status401Unauthorized;
        }
        // Unguarded: loopback only, also where the bound addresses were not known at start (endpoints set in code).
        // A connection with no address is in process (a test server).
        return _guarded || context.Connection.LocalIpAddress is not { } local || IPAddress.IsLoopback(local)
            ? null
            : StatusCodes.Status403Forbidden;
    }

    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));

    /// <summary>True for an address that only this machine reaches: localhost, 127.0.0.0/8, ::1.</summary>
    public static bool IsLoopbackUrl(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
            return false;
        if (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            return true;
        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }
}
