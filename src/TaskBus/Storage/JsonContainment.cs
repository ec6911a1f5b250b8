using System.Text.Json;

namespace TaskBus.Storage;

/// <summary>PostgreSQL's jsonb containment (<c>@&gt;</c>), for the memory store to filter params as the PostgreSQL store does.</summary>
internal static class JsonContainment
{
    /// <summary>True when <paramref name="value"/> contains <paramref name="pattern"/>.</summary>
    public static bool Contains(JsonElement value, JsonElement pattern) => (value.ValueKind, pattern.ValueKind) switch
    {
        (JsonValueKind.Object, JsonValueKind.Object) => pattern.EnumerateObject().All(p => value.TryGetProperty(p.Name, out var v) && Contains(v, p.Value)),
        // An array contains each element of the pattern somewhere; a scalar pattern stands for a one-element array.
        (JsonValueKind.Array, JsonValueKind.Array) => pattern.EnumerateArray().All(p => value.EnumerateArray().Any(v => Contains(v, p))),
        (JsonValueKind.Array, not JsonValueKind.Object) => value.EnumerateArray().Any(v => ScalarEquals(v, pattern)),
        (JsonValueKind.Object or JsonValueKind.Array, _) or (_, JsonValueKind.Object or JsonValueKind.Array) => false,
        _ => ScalarEquals(value, pattern),
    };

    private static bool ScalarEquals(JsonElement a, JsonElement b) => (a.ValueKind, b.ValueKind) switch
    {
        (JsonValueKind.Number, JsonValueKind.Number) => a.TryGetDecimal(out var x) && b.TryGetDecimal(out var y) ? x == y : a.GetDouble().Equals(b.GetDouble()),
        (JsonValueKind.String, JsonValueKind.String) => a.ValueEquals(b.GetString()),
        _ => a.ValueKind == b.ValueKind && a.ValueKind is JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null,
    };
}
