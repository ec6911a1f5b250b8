using System.Buffers;
using System.Text.Json;
using MassTransit;
using RabbitMQ.Client;
using TaskBus.Serialization;
using TaskBus.Transport;

namespace TaskBus.Execution;

/// <summary>
/// Holds a run for its delay in RabbitMQ itself: the run's message goes, with publisher confirms, to a
/// durable queue <c>{queue}_delay_{ms}</c> whose messages all live <c>ms</c> and are then dead-lettered
/// to the task queue. One queue per delay keeps expiry in order; a delay queue nobody has used for a
/// minute past its delay deletes itself. Every worker may stop during the wait: the run is not lost.
/// </summary>
internal sealed class RabbitMqDelayedRequeue(Uri url, string queue, TimeProvider time) : IDelayedRequeue, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly RabbitMqConnection _connection = new(url, "delay");
    private IChannel? _channel;

    public async Task SendAsync(TaskDescriptor task, TaskRun run, TimeSpan delay, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken)
    {
        var ms = (long)Math.Ceiling(delay.TotalMilliseconds);
        var name = $"{queue}_delay_{ms}";
        var header = TaskHeaders.Format(run);
        var body = Envelope(task, run, header, requestId, responseAddress);
        var properties = new BasicProperties
        {
            ContentType = MassTransitEnvelope.ContentType,
            MessageId = run.Guid.ToString(),
            Persistent = true,
            Priority = TaskHeaders.ToBrokerPriority(run.Priority),
            Headers = new Dictionary<string, object?> { [TaskHeaders.Run] = header },
        };
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // A connection the broker dropped (a restart) is replaced; the caller's message is redelivered if this throws.
            var channel = _channel is { IsOpen: true } open
                ? open
                : _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
            // Declared on every use: that also restarts the queue's idle expiry, which is longer than its messages' life.
            await channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false, new Dictionary<string, object?>
            {
                ["x-message-ttl"] = ms,
                ["x-dead-letter-exchange"] = "",
                ["x-dead-letter-routing-key"] = queue,
                ["x-expires"] = ms + 60_000,
            }, cancellationToken: cancellationToken);
            await channel.BasicPublishAsync("", name, mandatory: true, properties, body, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        await _connection.DisposeAsync();
        _gate.Dispose();
    }

    // MassTransit's JSON envelope, so the worker consumes the dead-lettered message like any other.
    private byte[] Envelope(TaskDescriptor task, TaskRun run, string header, Guid? requestId, Uri? responseAddress)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            var fields = new MassTransitEnvelope.Fields(run.Guid, task.Message.MessageType, time.GetUtcNow())
            {
                RequestId = requestId,
                ResponseAddress = responseAddress,
                RunHeader = header,
            };
            MassTransitEnvelope.Write(writer, fields, run, static (w, r) => r.ParamsJson.WriteTo(w));
        }
        return buffer.WrittenSpan.ToArray();
    }
}
