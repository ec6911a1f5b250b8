using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using TaskBus.Contracts;

namespace TaskBus.Serialization;

/// <summary>Masks the <see cref="SecretAttribute"/> properties of a params record in its JSON, for what is shown.</summary>
internal static class SecretParams
{
    public const string Mask = "***";

    private static readonly ConcurrentDictionary<Type, string[]> SecretNames = new();

    /// <summary>The JSON with each secret property of <paramref name="type"/> replaced by <see cref="Mask"/>; the same element when it has none.</summary>
    public static JsonElement Hide(JsonElement json, Type type)
    {
        var secrets = SecretNames.GetOrAdd(type, Find);
        if (secrets.Length == 0 || json.ValueKind != JsonValueKind.Object)
            return json;
        var copy = JsonObject.Create(json)!.DeepClone().AsObject();
        foreach (var name in secrets)
        {
            if (copy.ContainsKey(name) && copy[name] is not null)
                copy[name] = Mask;
        }
        return JsonSerializer.SerializeToElement(copy, TaskBusJson.Options);
    }

    /// <summary>The first secret property of <paramref name="type"/> that <paramref name="shown"/> (params as stored) holds masked, or null.</summary>
    public static string? FirstMasked(JsonElement shown, Type type) =>
        shown.ValueKind != JsonValueKind.Object ? null
            : SecretNames.GetOrAdd(type, Find).FirstOrDefault(name => shown.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null);

    // The JSON names of the secret properties, as TaskBus serializes params (naming policy, [JsonPropertyName]).
    private static string[] Find(Type type) =>
        [.. TaskBusJson.Options.GetTypeInfo(type).Properties
            .Where(p => p.AttributeProvider?.IsDefined(typeof(SecretAttribute), inherit: true) == true)
            .Select(p => p.Name)];
}
