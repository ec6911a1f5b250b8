using RabbitMQ.Client;
using TaskBus.MassTransit;

namespace TaskBus.RabbitMq;

/// <summary>
/// Declares the task queue exactly as a worker's receive endpoint does: a durable queue with
/// <c>x-max-priority</c> 2, and the fanout exchange of the same name bound to it, which is where runs are sent.
/// </summary>
internal sealed class RabbitMqTopology(RabbitMqConnection connection, string queue) : IQueueDeclaration
{
    /// <summary>The task queue's arguments; a queue declared with others is refused by the broker.</summary>
    public static Dictionary<string, object?> QueueArguments() => new() { ["x-max-priority"] = (int)RunStamp.MaxPriority };

    public async Task DeclareAsync(CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(null, cancellationToken);
        await channel.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, QueueArguments(), cancellationToken: cancellationToken);
        await channel.QueueBindAsync(queue, queue, "", cancellationToken: cancellationToken);
    }
}
