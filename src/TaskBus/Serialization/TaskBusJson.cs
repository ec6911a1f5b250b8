using System.Text.Json;
using System.Text.Json.Serialization;

namespace TaskBus.Serialization;

/// <summary>The JSON settings of TaskBus's own documents: camelCase, enums as their wire names, unknown params rejected.</summary>
internal static class TaskBusJson
{
    /// <summary>Options for task params and TaskRun documents.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        PropertyNameCaseInsensitive = true,
        Converters = { new UtcTimestampConverter() },
        // Set, not left to the first serialization: the params' metadata is read before any (secrets, numbers).
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    /// <summary>Writes timestamps as UTC ISO-8601 with milliseconds: <c>2026-11-27T21:00:00.000Z</c>.</summary>
    internal sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
    }
}
