using MassTransit;
using TaskBus.Runs;

namespace TaskBus.MassTransit;

/// <summary>
/// The error queue of a worker group on the in-memory transport, kept by TaskBus so it can be listed, discarded and
/// requeued as on RabbitMQ: the receive endpoint's error pipe puts each message that could not be processed here,
/// with MassTransit's fault headers, instead of the transport's own <c>_error</c> queue, which nothing can read. It
/// lives as long as the process, like everything else on that transport.
/// </summary>
internal sealed class InMemoryErrorQueue : IFilter<ExceptionReceiveContext>
{
    private readonly Lock _lock = new();
    private readonly List<Entry> _entries = [];

    /// <summary>A message of the queue: its id, body and headers as text.</summary>
    public sealed record Entry(string? MessageId, ReadOnlyMemory<byte> Body, IReadOnlyDictionary<string, string> Headers);

    /// <summary>The messages, oldest first.</summary>
    public IReadOnlyList<Entry> Snapshot()
    {
        lock (_lock)
            return [.. _entries];
    }

    /// <summary>Takes the given messages out.</summary>
    public void Remove(IReadOnlyCollection<Entry> entries)
    {
        lock (_lock)
            _entries.RemoveAll(entries.Contains);
    }

    public Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["MT-Reason"] = "fault",
            ["MT-Fault-ExceptionType"] = context.Exception.GetType().FullName ?? context.Exception.GetType().Name,
            ["MT-Fault-Message"] = context.Exception.Message,
            ["MT-Fault-Timestamp"] = context.ExceptionTimestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (context.TransportHeaders.Get<string>(RunHeader.Name) is { } run)
            headers[RunHeader.Name] = run;
        var entry = new Entry(context.GetMessageId()?.ToString(), context.Body.GetBytes(), headers);
        lock (_lock)
            _entries.Add(entry);
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("taskbus-in-memory-error-queue");
}
