using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TaskBus.Serialization;

/// <summary>
/// The unique key of a run's params: a SHA-256 of their canonical JSON (properties sorted, numbers as parsed, secrets
/// by their real value), so equal params give equal keys whichever order or form they came in, and the key shows no
/// secret.
/// </summary>
internal static class ParamsKey
{
    public static string Of(JsonElement json)
    {
        var canonical = new StringBuilder(256);
        Write(canonical, json);
        return "params:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    private static void Write(StringBuilder to, JsonElement json)
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.Object:
                to.Append('{');
                var first = true;
                foreach (var property in json.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (!first)
                        to.Append(',');
                    first = false;
                    to.Append(JsonSerializer.Serialize(property.Name)).Append(':');
                    Write(to, property.Value);
                }
                to.Append('}');
                break;
            case JsonValueKind.Array:
                to.Append('[');
                var i = 0;
                foreach (var item in json.EnumerateArray())
                {
                    if (i++ > 0)
                        to.Append(',');
                    Write(to, item);
                }
                to.Append(']');
                break;
            case JsonValueKind.Number:
                // 1, 1.0 and 1e0 are one number.
                to.Append(json.TryGetDecimal(out var d)
                    ? d.ToString("G29", CultureInfo.InvariantCulture)
                    : json.GetDouble().ToString("R", CultureInfo.InvariantCulture));
                break;
            case JsonValueKind.String:
                to.Append(JsonSerializer.Serialize(json.GetString()));
                break;
            default:
                to.Append(json.GetRawText());
                break;
        }
    }
}
