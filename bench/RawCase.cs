using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace TaskBus.Bench;

/// <summary>
/// The broker's own ceiling: RabbitMQ.Client alone, with what a run's message needs and nothing more. The same kind of
/// queue (durable, <c>x-max-priority</c> 2), persistent messages of an envelope's size at priority 1, publisher
/// confirms, manual acks, the same prefetch and consumer concurrency as the other cases.
/// </summary>
internal sealed class RawCase : IAsyncDisposable
{
    public const string Queue = "taskbus-bench-raw";

    // About the size of a MassTransit envelope of a no-op run.
    private static readonly ReadOnlyMemory<byte> s_body = new byte[600];

    private readonly IConnection _connection;
    private readonly IChannel _publisher;
    private readonly IChannel _consumer;
    private readonly BasicProperties _properties = new() { Persistent = true, Priority = 1, ContentType = "application/vnd.masstransit+json" };

    private RawCase(IConnection connection, IChannel publisher, IChannel consumer)
    {
        _connection = connection;
        _publisher = publisher;
        _consumer = consumer;
    }

    public static async Task<RawCase> StartAsync(string url, int concurrency, Counter counter)
    {
        var connection = await new ConnectionFactory { Uri = new Uri(url), ClientProvidedName = "taskbus-bench-raw" }.CreateConnectionAsync();
        var publisher = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var consumer = await connection.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: (ushort)concurrency));
        await consumer.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false, new Dictionary<string, object?> { ["x-max-priority"] = 2 });
        await consumer.QueuePurgeAsync(Queue);
        await consumer.BasicQosAsync(0, (ushort)concurrency, false);
        var handler = new AsyncEventingBasicConsumer(consumer);
        handler.ReceivedAsync += async (_, delivery) =>
        {
            counter.Increment();
            await consumer.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await consumer.BasicConsumeAsync(Queue, autoAck: false, handler);
        return new RawCase(connection, publisher, consumer);
    }

    /// <summary>One message, returned once the broker confirmed it.</summary>
    public Task PublishAsync() => _publisher.BasicPublishAsync("", Queue, mandatory: false, _properties, s_body).AsTask();

    public async ValueTask DisposeAsync()
    {
        await _consumer.QueueDeleteAsync(Queue, ifUnused: false, ifEmpty: false);
        await _consumer.CloseAsync();
        await _publisher.CloseAsync();
        await _connection.CloseAsync();
        _connection.Dispose();
    }
}
