using System.Text.Json;

namespace TaskBus.Tests.Support;

/// <summary>
/// Checks a JSON value against a schema of an OpenAPI 3.1 document, as a generated client would read it: every field
/// it has is documented, with a type that fits; every required field is there; enums hold the value.
/// </summary>
internal static class SchemaConformance
{
    /// <summary>What does not fit, one line each (empty when it all fits).</summary>
    public static List<string> Check(JsonElement value, JsonElement schema, JsonElement document, string at = "$")
    {
        var problems = new List<string>();
        CheckInto(value, schema, document, at, problems);
        return problems;
    }

    private static JsonElement Resolve(JsonElement schema, JsonElement document)
    {
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!["#/components/schemas/".Length..];
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(name);
        }
        return schema;
    }

    private static void CheckInto(JsonElement value, JsonElement schema, JsonElement document, string at, List<string> problems)
    {
        schema = Resolve(schema, document);
        if (schema.ValueKind != JsonValueKind.Object)
            return;
        foreach (var key in new[] { "oneOf", "anyOf" })
        {
            if (schema.TryGetProperty(key, out var choices)
                && !choices.EnumerateArray().Any(choice => Check(value, choice, document, at).Count == 0))
                problems.Add($"{at}: {value.GetRawText()} fits none of its {key}");
        }
        if (schema.TryGetProperty("type", out var type) && !Types(type).Contains(KindOf(value)) && !(KindOf(value) == "integer" && Types(type).Contains("number")))
            problems.Add($"{at}: a {KindOf(value)}, documented as {type.GetRawText()}");
        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => JsonElement.DeepEquals(v, value)))
            problems.Add($"{at}: {value.GetRawText()} is not in its enum {values.GetRawText()}");
        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
                CheckInto(item, items, document, $"{at}[{i++}]", problems);
        }
        if (value.ValueKind != JsonValueKind.Object)
            return;
        // The object's fields: those of the schema and of each part of an allOf.
        var parts = new List<JsonElement> { schema };
        if (schema.TryGetProperty("allOf", out var all))
            parts.AddRange(all.EnumerateArray().Select(p => Resolve(p, document)));
        var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var open = parts.All(p => !p.TryGetProperty("properties", out _));
        foreach (var part in parts)
        {
            if (part.TryGetProperty("properties", out var declared))
            {
                foreach (var property in declared.EnumerateObject())
                    properties[property.Name] = property.Value;
            }
            if (part.TryGetProperty("required", out var required))
            {
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()!).Where(n => !value.TryGetProperty(n, out _)))
                    problems.Add($"{at}: required field '{name}' is missing");
            }
        }
        foreach (var field in value.EnumerateObject())
        {
            if (properties.TryGetValue(field.Name, out var fieldSchema))
                CheckInto(field.Value, fieldSchema, document, $"{at}.{field.Name}", problems);
            else if (!open)
                problems.Add($"{at}: field '{field.Name}' is not documented");
        }
    }

    private static string[] Types(JsonElement type) =>
        type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!)] : [type.GetString()!];

    private static string KindOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.String => "string",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "integer" : "number",
        _ => "undefined",
    };
}
