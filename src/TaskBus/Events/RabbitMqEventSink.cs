using System.Buffers;
using System.Text.Json;
using MassTransit;
using RabbitMQ.Client;
using TaskBus.Contracts;
using TaskBus.Serialization;
using TaskBus.Transport;

namespace TaskBus.Events;

/// <summary>
/// Publishes events to the exchange MassTransit uses for <see cref="TaskRunEvent"/>, in
/// MassTransit's JSON envelope, so any MassTransit consumer of <see cref="TaskRunEvent"/>
/// receives them as usual. It uses its own channel without publisher confirms and sends
/// transient messages: an event is a notification, and a full MassTransit publish per state
/// change would cost about as much as the task itself. Task messages keep their confirms.
/// </summary>
internal sealed class RabbitMqEventSink : ITaskRunEventSink
{
    private static readonly BasicProperties Properties = new()
    {
        ContentType = MassTransitEnvelope.ContentType,
        DeliveryMode = DeliveryModes.Transient,
    };

    private readonly RabbitMqConnection _connection;
    private readonly CachedString _exchange;
    private readonly string _messageType = MessageUrn.ForTypeString<TaskRunEvent>();
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private IChannel? _channel;

    private readonly TimeProvider _time;

    public RabbitMqEventSink(Uri url, string exchange, TimeProvider time)
    {
        _time = time;
        _connection = new RabbitMqConnection(url, "events");
        _exchange = new CachedString(exchange);
        _writer = new Utf8JsonWriter(_buffer);
    }

    public async ValueTask SendAsync(IReadOnlyList<TaskRunEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            var channel = _channel is { IsOpen: true } open ? open : await OpenAsync(cancellationToken);
            foreach (var evt in events)
            {
                _buffer.ResetWrittenCount();
                _writer.Reset(_buffer);
                WriteEnvelope(evt);
                await channel.BasicPublishAsync(_exchange, CachedString.Empty, false, Properties, _buffer.WrittenMemory.ToArray(), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The broker went away: start over with a new connection for the next batch; this one is lost.
            await CloseAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        await _writer.DisposeAsync();
    }

    private async Task CloseAsync()
    {
        _channel?.Dispose();
        _channel = null;
        await _connection.ResetAsync();
    }

    private async Task<IChannel> OpenAsync(CancellationToken cancellationToken)
    {
        var channel = await _connection.CreateChannelAsync(null, cancellationToken);
        // Declared as MassTransit declares a message type's exchange, so either may come first.
        await channel.ExchangeDeclareAsync(_exchange.Value, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        return _channel = channel;
    }

    private void WriteEnvelope(TaskRunEvent evt) =>
        MassTransitEnvelope.Write(_writer, new MassTransitEnvelope.Fields(NewId.NextGuid(), _messageType, _time.GetUtcNow()), evt,
            static (w, e) => JsonSerializer.Serialize(w, e, TaskBusJson.Options));
}
