using System.Buffers;
using System.Text.Json;
using MassTransit;
using RabbitMQ.Client;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Serialization;

namespace TaskBus.RabbitMq;

/// <summary>
/// Publishes events to the exchange MassTransit uses for <see cref="TaskRunEvent"/>, in MassTransit's JSON envelope,
/// so any MassTransit consumer of <see cref="TaskRunEvent"/> receives them as usual. It uses a channel of its own
/// without publisher confirms and sends transient messages: an event is a notification, and a full MassTransit
/// publish per state change would cost about as much as the task itself. Task messages keep their confirms.
/// The exchange's name comes from the bus at the first send: the bus is built after the sinks that publish on it.
/// </summary>
internal sealed class RabbitMqEventTransport : IRunEventTransport
{
    private static readonly BasicProperties Properties = new()
    {
        ContentType = MassTransitEnvelope.ContentType,
        DeliveryMode = DeliveryModes.Transient,
    };

    private readonly RabbitMqConnection _connection;
    private readonly Lazy<string> _exchangeName;
    private readonly Lazy<string>? _progressExchangeName;
    private readonly string _messageType = MessageUrn.ForTypeString<TaskRunEvent>();
    private readonly string _progressType = MessageUrn.ForTypeString<TaskRunProgress>();
    private CachedString? _progressExchange;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private readonly TimeProvider _time;
    private CachedString? _exchange;
    private IChannel? _channel;

    public RabbitMqEventTransport(RabbitMqConnection connection, Lazy<string> exchange, TimeProvider time, Lazy<string>? progressExchange = null)
    {
        _connection = connection;
        _exchangeName = exchange;
        _progressExchangeName = progressExchange;
        _time = time;
        _writer = new Utf8JsonWriter(_buffer);
    }

    public async ValueTask SendAsync(IReadOnlyList<TaskRunEvent> events, CancellationToken cancellationToken)
    {
        var channel = _channel is { IsOpen: true } open ? open : await OpenAsync(cancellationToken);
        foreach (var evt in events)
        {
            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            MassTransitEnvelope.Write(_writer, new MassTransitEnvelope.Fields(NewId.NextGuid(), _messageType, _time.GetUtcNow()), evt,
                static (w, e) => JsonSerializer.Serialize(w, e, TaskBusJson.Options));
            await channel.BasicPublishAsync(_exchange!, CachedString.Empty, false, Properties, _buffer.WrittenMemory.ToArray(), cancellationToken);
        }
    }

    public async ValueTask SendProgressAsync(TaskRunProgress progress, CancellationToken cancellationToken)
    {
        if (_progressExchangeName is null)
            return;
        var channel = _channel is { IsOpen: true } open ? open : await OpenAsync(cancellationToken);
        if (_progressExchange is null)
        {
            var name = new CachedString(_progressExchangeName.Value);
            await channel.ExchangeDeclareAsync(name.Value, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
            _progressExchange = name;
        }
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        MassTransitEnvelope.Write(_writer, new MassTransitEnvelope.Fields(NewId.NextGuid(), _progressType, _time.GetUtcNow()), progress,
            static (w, p) => JsonSerializer.Serialize(w, p, TaskBusJson.Options));
        await channel.BasicPublishAsync(_progressExchange, CachedString.Empty, false, Properties, _buffer.WrittenMemory.ToArray(), cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel)
            await RabbitMqConnection.CloseAsync(channel);
        await _writer.DisposeAsync();
    }

    private async Task<IChannel> OpenAsync(CancellationToken cancellationToken)
    {
        _channel?.Dispose();
        _channel = null;
        _exchange ??= new CachedString(_exchangeName.Value);
        var channel = await _connection.CreateChannelAsync(null, cancellationToken);
        // Declared as MassTransit declares a message type's exchange, so either may come first.
        await channel.ExchangeDeclareAsync(_exchange.Value, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        return _channel = channel;
    }
}
