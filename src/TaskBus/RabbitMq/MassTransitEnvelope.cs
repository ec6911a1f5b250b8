using System.Text.Json;
using TaskBus.Serialization;

namespace TaskBus.RabbitMq;

/// <summary>
/// MassTransit's JSON envelope, for the messages TaskBus puts on RabbitMQ or takes off it without MassTransit's
/// pipeline (a delayed run, an event, a run removed from its queue), so MassTransit consumers read them as their own.
/// </summary>
internal static class MassTransitEnvelope
{
    public const string ContentType = "application/vnd.masstransit+json";

    /// <summary>What the envelope says beside its message.</summary>
    public readonly record struct Fields(Guid MessageId, string MessageType, DateTimeOffset SentTime)
    {
        public Guid? RequestId { get; init; }

        public Uri? ResponseAddress { get; init; }

        /// <summary>The TaskBus run header, carried in the envelope's headers too.</summary>
        public string? RunHeader { get; init; }

        /// <summary>When the run expires (<see cref="Runs.RunHeader.ExpiresName"/>), or null.</summary>
        public string? Expires { get; init; }
    }

    /// <summary>Writes one envelope; <paramref name="writeMessage"/> writes the message itself.</summary>
    public static void Write<TState>(Utf8JsonWriter writer, in Fields fields, TState state, Action<Utf8JsonWriter, TState> writeMessage)
    {
        writer.WriteStartObject();
        writer.WriteString("messageId", fields.MessageId);
        if (fields.RequestId is { } request)
            writer.WriteString("requestId", request);
        if (fields.ResponseAddress is { } response)
            writer.WriteString("responseAddress", response.ToString());
        writer.WriteStartArray("messageType");
        writer.WriteStringValue(fields.MessageType);
        writer.WriteEndArray();
        writer.WritePropertyName("message");
        writeMessage(writer, state);
        if (fields.RunHeader is { } header)
        {
            writer.WriteStartObject("headers");
            writer.WriteString(Runs.RunHeader.Name, header);
            if (fields.Expires is { } expires)
                writer.WriteString(Runs.RunHeader.ExpiresName, expires);
            writer.WriteEndObject();
        }
        writer.WriteString("sentTime", fields.SentTime.UtcDateTime);
        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>The message of an envelope (or a raw JSON body) read as <paramref name="type"/>; null when it does not read.</summary>
    public static object? TryReadMessage(ReadOnlyMemory<byte> body, Type type)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var message = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("message", out var inner)
                ? inner
                : document.RootElement;
            return message.Deserialize(type, TaskBusJson.Options);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or ArgumentException)
        {
            return null;
        }
    }
}
