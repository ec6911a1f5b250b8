using System.Text.Json;
using System.Text.Json.Nodes;
using TaskBus.Tasks;

namespace TaskBus.CommandLine;

/// <summary>
/// Builds a task's params from a command line: <c>--params JSON</c>, then <c>k=v</c> pairs or
/// <c>--field value</c> options (a bare <c>--flag</c> is true). Field names match the params
/// record's properties ignoring case, dashes and underscores; values are read as JSON literals
/// when they are one (<c>3</c>, <c>true</c>), else as strings.
/// </summary>
internal static class ParamsArguments
{
    /// <summary>Merges <paramref name="json"/> and the fields into one JSON object for <paramref name="task"/>.</summary>
    /// <exception cref="TaskParamsException">Malformed JSON, an unknown field or a field without a value.</exception>
    public static JsonObject Build(TaskDescriptor task, string? json, IEnumerable<KeyValuePair<string, string?>> fields)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(fields);
        JsonObject result;
        try
        {
            result = string.IsNullOrWhiteSpace(json) ? [] : JsonNode.Parse(json) as JsonObject
                ?? throw new TaskParamsException($"invalid params for task '{task.Name}': --params must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new TaskParamsException($"invalid params for task '{task.Name}': --params is not valid JSON: {TaskBus.Serialization.UserText.Json(ex)}", ex);
        }
        var properties = task.ParamsType.GetProperties()
            .Where(p => p.CanWrite)
            .ToDictionary(p => Normalize(p.Name), p => p, StringComparer.Ordinal);
        foreach (var (field, value) in fields)
        {
            if (!properties.TryGetValue(Normalize(field), out var property))
                throw new TaskParamsException($"invalid params for task '{task.Name}': no field '{field}' (fields: {string.Join(", ", properties.Values.Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)))})");
            var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (value is null)
            {
                if (property.PropertyType != typeof(bool))
                    throw new TaskParamsException($"invalid params for task '{task.Name}': --{field} needs a value");
                result[name] = true;
            }
            else
            {
                result[name] = ParseValue(value);
            }
        }
        return result;
    }

    /// <summary>Reads <c>--field value</c> and <c>--flag</c> tokens into pairs (value null for a bare flag).</summary>
    /// <exception cref="TaskParamsException">A token that is not an option.</exception>
    public static IReadOnlyList<KeyValuePair<string, string?>> ParseOptions(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var result = new List<KeyValuePair<string, string?>>();
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
                throw new TaskParamsException($"unexpected argument '{token}'");
            var name = token[2..];
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                result.Add(new(name[..eq], name[(eq + 1)..]));
            else if (i + 1 < tokens.Count && !tokens[i + 1].StartsWith("--", StringComparison.Ordinal))
                result.Add(new(name, tokens[++i]));
            else
                result.Add(new(name, null));
        }
        return result;
    }

    /// <summary>Reads <c>k=v</c> pairs.</summary>
    /// <exception cref="TaskParamsException">A pair without <c>=</c>.</exception>
    public static IReadOnlyList<KeyValuePair<string, string?>> ParsePairs(IEnumerable<string> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return [.. pairs.Select(p => p.IndexOf('=', StringComparison.Ordinal) is > 0 and var eq
            ? new KeyValuePair<string, string?>(p[..eq], p[(eq + 1)..])
            : throw new TaskParamsException($"--param '{p}' is not key=value"))];
    }

    private static JsonNode? ParseValue(string value)
    {
        try
        {
            var node = JsonNode.Parse(value);
            return node is JsonValue ? node : JsonValue.Create(value);
        }
        catch (JsonException)
        {
            return JsonValue.Create(value);
        }
    }

    private static string Normalize(string name) =>
        name.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToUpperInvariant();
}
