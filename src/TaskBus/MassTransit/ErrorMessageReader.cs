using System.Globalization;
using System.Text.Json;
using MassTransit;
using TaskBus.Client;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.MassTransit;

/// <summary>
/// Reads a message of the error queue, whatever the transport: its run id (message id), its task (run header, else
/// the message type a task takes), why it failed and when (MassTransit's <c>MT-Fault-*</c> headers), and its params
/// as JSON (the envelope's message, or a raw JSON body).
/// </summary>
internal sealed class ErrorMessageReader(TaskRegistry registry)
{
    private readonly Lazy<Dictionary<string, string>> _tasksByUrn = new(() => registry
        .GroupBy(t => MessageUrn.ForTypeString(t.ParamsType), StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.First().Name, StringComparer.Ordinal));

    /// <summary>Reads one message.</summary>
    /// <param name="messageId">The transport's message id.</param>
    /// <param name="body">The body as sent.</param>
    /// <param name="header">A transport header's value as text, or null.</param>
    public ErrorMessage Read(string? messageId, ReadOnlyMemory<byte> body, Func<string, string?> header)
    {
        JsonElement? parameters = null;
        string? messageType = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            // An envelope has its message and the message's types; a task's params may well have a "message" of their own.
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("message", out var inner)
                && root.TryGetProperty("messageType", out var types) && types.ValueKind == JsonValueKind.Array)
            {
                parameters = inner.Clone();
                if (types.GetArrayLength() > 0)
                    messageType = types[0].GetString();
                messageId ??= root.TryGetProperty("messageId", out var id) ? id.GetString() : null;
            }
            else
            {
                // A raw JSON body (the in-memory transport's runs): its types travel as a transport header.
                parameters = root.Clone();
                messageType = header("MT-MessageType")?.Split(';')[0];
            }
        }
        catch (JsonException)
        {
            // A body that is no JSON: nothing to run again.
        }
        var runHeader = header(RunHeader.Name) is { } text && RunHeader.TryParse(text, out var parsed) ? parsed : (RunHeader?)null;
        var task = runHeader?.Task
            ?? (messageType is not null && _tasksByUrn.Value.TryGetValue(messageType, out var name) ? name : "unknown");
        var exception = header("MT-Fault-ExceptionType");
        var reason = header("MT-Fault-Message") ?? header("MT-Reason") ?? "unknown";
        var failedAt = DateTimeOffset.TryParse(header("MT-Fault-Timestamp"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : (DateTimeOffset?)null;
        return new ErrorMessage(
            new FailedMessage(
                Guid.TryParse(messageId, out var guid) ? guid.ToString("N") : "",
                task,
                exception is null ? reason : $"{ShortName(exception)}: {reason}",
                failedAt,
                messageType),
            parameters);
    }

    private static string ShortName(string exceptionType) => exceptionType[(exceptionType.LastIndexOf('.') + 1)..];
}
