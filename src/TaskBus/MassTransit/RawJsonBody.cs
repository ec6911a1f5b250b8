using System.Net.Mime;
using MassTransit;

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
    /// <summary>What the bus needs to read and write it: the raw JSON serializer beside its default.</summary>
    public const RawSerializerOptions Options = RawSerializerOptions.AddTransportHeaders | RawSerializerOptions.CopyHeaders;

    private static readonly ContentType JsonContentType = new("application/json");

    /// <summary>The same, as a send's pipe.</summary>
    public static readonly IPipe<SendContext> Pipe = global::MassTransit.Pipe.Execute<SendContext>(Use);

    /// <summary>Makes a send or publish that is not serialized yet carry raw JSON, where its bus has the serializer.</summary>
    public static void Use(SendContext context)
    {
        if (context.Serialization?.TryGetMessageSerializer(JsonContentType, out var serializer) == true)
            context.Serializer = serializer;
    }
}
