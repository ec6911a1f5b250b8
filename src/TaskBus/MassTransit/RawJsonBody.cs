using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using MassTransit;
using MassTransit.Metadata;
using MassTransit.Serialization;

namespace TaskBus.MassTransit;

/// <summary>
/// Runs and their events on the in-memory transport: sent as the record's JSON alone (MassTransit's raw JSON
/// serializer), its message id, types and TaskBus's headers as transport headers, instead of in an envelope that
/// nothing between sender and receiver needs. The bus keeps its default serializer for everything else, and reads
/// either by the message's content type, so a plain <c>IConsumer&lt;TaskRunEvent&gt;</c> on it still receives every
/// event.
/// </summary>
internal static class RawJsonBody
{
    /// <summary>What the bus needs to read it: the raw JSON deserializer beside its default.</summary>
    public const RawSerializerOptions Options = RawSerializerOptions.AddTransportHeaders | RawSerializerOptions.CopyHeaders;

    private static readonly Serializer Instance = new();

    /// <summary>The same, as a send's pipe.</summary>
    public static readonly IPipe<SendContext> Pipe = global::MassTransit.Pipe.Execute<SendContext>(Use);

    /// <summary>Makes a send or publish that is not serialized yet carry raw JSON.</summary>
    public static void Use(SendContext context) => context.Serializer = Instance;

    /// <summary>
    /// MassTransit's raw JSON serializer, with the headers that do not change between messages written once: the
    /// host's description (which MassTransit serializes to JSON for every message) and each message type's list of
    /// types (MassTransit keeps one array per message type).
    /// </summary>
    private sealed class Serializer() : SystemTextJsonRawMessageSerializer(Options)
    {
        private static readonly string Host = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(HostMetadataCache.Host));
        private static readonly ConditionalWeakTable<string[], string> TypeLists = [];

        protected override void SetRawMessageHeaders(SendContext context)
        {
            var headers = context.Headers;
            if (context.MessageId.HasValue)
                headers.Set(MessageHeaders.MessageId, context.MessageId.Value.ToString());
            if (context.CorrelationId.HasValue)
                headers.Set(MessageHeaders.CorrelationId, context.CorrelationId.Value.ToString());
            if (context.ConversationId.HasValue)
                headers.Set(MessageHeaders.ConversationId, context.ConversationId.Value.ToString());
            if (context.InitiatorId.HasValue)
                headers.Set(MessageHeaders.InitiatorId, context.InitiatorId.Value.ToString());
            if (context.RequestId.HasValue)
                headers.Set(MessageHeaders.RequestId, context.RequestId.Value.ToString());
            if (context.SupportedMessageTypes is { Length: > 0 } types)
                headers.Set(MessageHeaders.MessageType, TypeLists.GetValue(types, static t => string.Join(";", t)));
            if (context.ResponseAddress is not null)
                headers.Set(MessageHeaders.ResponseAddress, context.ResponseAddress);
            if (context.FaultAddress is not null)
                headers.Set(MessageHeaders.FaultAddress, context.FaultAddress);
            if (context.SourceAddress is not null)
                headers.Set(MessageHeaders.SourceAddress, context.SourceAddress);
            headers.Set(MessageHeaders.Host.Info, Host);
        }
    }
}
