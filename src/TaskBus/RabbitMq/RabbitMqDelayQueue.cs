using System.Buffers;
using System.Text.Json;
using RabbitMQ.Client;
using TaskBus.MassTransit;
using TaskBus.Runs;

namespace TaskBus.RabbitMq;

/// <summary>
/// Holds a run for its delay in RabbitMQ itself (a retry's wait): the run's message goes, with publisher confirms, to a
/// durable queue <c>{queue}_delay_{ms}</c> whose messages all live <c>ms</c> and are then dead-lettered to the task
/// queue (on a layout of several queues, the next of the run's priority). One queue per delay keeps expiry in order; a
/// delay queue nobody has used for a minute past its delay deletes itself. Every worker may stop during the wait: the
/// run is not lost; on quorum queues the wait is replicated and dead-lettered at least once, so it survives a node.
/// </summary>
internal sealed class RabbitMqDelayQueue(RabbitMqConnection connection, RabbitMqLayout layout, TimeProvider time) : IDelayedDelivery, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;

    public async Task SendAsync(string messageType, TaskRun run, TimeSpan delay, RunReply? reply, CancellationToken cancellationToken)
    {
        var ms = (long)Math.Ceiling(delay.TotalMilliseconds);
        var queue = layout.Next(run.Priority);
        var name = $"{queue}_delay_{ms}";
        var header = RunHeader.Format(run);
        var body = Envelope(messageType, run, header, reply);
        var properties = new BasicProperties
        {
            ContentType = MassTransitEnvelope.ContentType,
            MessageId = run.Guid.ToString(),
            Persistent = true,
            Priority = RunStamp.ToBrokerPriority(run.Priority),
            Headers = new Dictionary<string, object?> { [RunHeader.Name] = header, [RabbitMqLayout.PriorityHeader] = RabbitMqLayout.HeaderValue(run.Priority) },
        };
        if (RunHeader.FormatExpires(run) is { } expires)
            properties.Headers[RunHeader.ExpiresName] = expires;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // One channel with confirms, kept open; the caller's message is delivered again if this throws.
            var channel = _channel is { IsOpen: true } open
                ? open
                : await OpenAsync(cancellationToken);
            // Declared on every use: that also restarts the queue's idle expiry, which is longer than its messages' life.
            await channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false, layout.DelayArguments(queue, ms), cancellationToken: cancellationToken);
            await channel.BasicPublishAsync("", name, mandatory: true, properties, body, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel)
            await RabbitMqConnection.CloseAsync(channel);
        _gate.Dispose();
    }

    private async Task<IChannel> OpenAsync(CancellationToken cancellationToken)
    {
        _channel?.Dispose();
        return _channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
    }

    // MassTransit's JSON envelope, so the worker consumes the dead-lettered message like any other.
    private byte[] Envelope(string messageType, TaskRun run, string header, RunReply? reply)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            var fields = new MassTransitEnvelope.Fields(run.Guid, messageType, time.GetUtcNow())
            {
                RequestId = reply?.RequestId,
                ResponseAddress = reply?.Address,
                RunHeader = header,
                Expires = RunHeader.FormatExpires(run),
            };
            MassTransitEnvelope.Write(writer, fields, run, static (w, r) => r.ParamsJson.WriteTo(w));
        }
        return buffer.WrittenSpan.ToArray();
    }
}
