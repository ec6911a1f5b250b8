using System.Text.Json;
using System.Text.Json.Serialization;
using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.Http;

/// <summary>Runs that ended in one minute in one final state, as <c>GET /tasks-stats</c> counts them.</summary>
internal sealed record MinuteCount(DateTimeOffset Minute, string State, int Count);

/// <summary>A delayed run waiting in the store, as <c>GET /tasks-delayed</c> lists it.</summary>
internal sealed record DelayedInfo(string RunId, string Task, DateTimeOffset Due);

/// <summary>
/// What <c>POST /tasks/{name}</c> answers: the run as an event, and, for a run queued with a unique key or an expiry,
/// those and whether it was a run already queued or running with the same key.
/// </summary>
[JsonConverter(typeof(Converter))]
internal sealed record QueuedRun
{
    /// <summary>The run.</summary>
    [JsonIgnore]
    public required TaskRunEvent Run { get; init; }

    /// <summary>True when nothing was queued: a run of the task with the same unique key was queued or running, and this is that run.</summary>
    public bool Deduplicated { get; init; }

    /// <summary>The unique key, or null.</summary>
    public string? UniqueKey { get; init; }

    /// <summary>When the run expires, or null.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    public static QueuedRun Of(TaskRun run) => new()
    {
        Run = run.ToEvent(Client.TaskManager.WorkerName),
        Deduplicated = run.Deduplicated,
        UniqueKey = run.UniqueKey,
        ExpiresAt = run.ExpiresAt,
    };

    /// <summary>Writes the run's own properties, then the queueing's: one flat object, as for any run.</summary>
    private sealed class Converter : JsonConverter<QueuedRun>
    {
        public override QueuedRun Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("a queued run is only written");

        public override void Write(Utf8JsonWriter writer, QueuedRun value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            foreach (var property in JsonSerializer.SerializeToElement(value.Run, options).EnumerateObject())
                property.WriteTo(writer);
            // A run queued without terms is answered as a TaskRunEvent, exactly: a client that reads it as one strictly still can.
            if (value.UniqueKey is null && value.ExpiresAt is null)
            {
                writer.WriteEndObject();
                return;
            }
            writer.WriteBoolean(Name(options, nameof(Deduplicated)), value.Deduplicated);
            if (value.UniqueKey is not null || options.DefaultIgnoreCondition != JsonIgnoreCondition.WhenWritingNull)
            {
                writer.WritePropertyName(Name(options, nameof(UniqueKey)));
                JsonSerializer.Serialize(writer, value.UniqueKey, options);
            }
            if (value.ExpiresAt is not null || options.DefaultIgnoreCondition != JsonIgnoreCondition.WhenWritingNull)
            {
                writer.WritePropertyName(Name(options, nameof(ExpiresAt)));
                JsonSerializer.Serialize(writer, value.ExpiresAt, options);
            }
            writer.WriteEndObject();
        }

        private static string Name(JsonSerializerOptions options, string name) => options.PropertyNamingPolicy?.ConvertName(name) ?? name;
    }
}
