using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace TaskBus.Http.Dashboard;

/// <summary>The dashboard's files, embedded in this assembly (no CDN: it runs behind firewalls), read once.</summary>
internal static class DashboardAssets
{
    private const string Prefix = "TaskBus.Dashboard.";

    private static readonly FrozenDictionary<string, Asset> Files = Load();

    public static IResult Serve(HttpContext context, string file)
    {
        if (!Files.TryGetValue(file, out var asset))
            return Results.NotFound();
        var headers = context.Response.GetTypedHeaders();
        headers.ETag = asset.ETag;
        // Revalidated on every load, answered 304 while unchanged: a new version shows at once.
        headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        var ifNoneMatch = context.Request.GetTypedHeaders().IfNoneMatch;
        if (ifNoneMatch.Any(tag => tag.Compare(asset.ETag, useStrongComparison: false)))
            return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    /// <summary>A text file's content.</summary>
    public static string Text(string file) => System.Text.Encoding.UTF8.GetString(Files[file].Content);

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var file = name[Prefix.Length..];
            var etag = new EntityTagHeaderValue($"\"{Convert.ToHexString(SHA256.HashData(content).AsSpan(0, 8))}\"");
            files[file] = new Asset(content, ContentType(file), etag);
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Content, string ContentType, EntityTagHeaderValue ETag);
}
