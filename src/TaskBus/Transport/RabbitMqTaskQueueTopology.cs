using RabbitMQ.Client;
using TaskBus.Execution;

namespace TaskBus.Transport;

/// <summary>
/// Declares the task queue exactly as a worker's receive endpoint does: a durable queue with
/// <c>x-max-priority</c> 2, and the fanout exchange of the same name bound to it, which is where runs are sent.
/// </summary>
internal sealed class RabbitMqTaskQueueTopology(Uri url, string queue) : ITaskQueueTopology, IAsyncDisposable
{
    /// <summary>The task queue's arguments; a queue declared with others is refused by the broker.</summary>
    public static Dictionary<string, object?> QueueArguments() => new() { ["x-max-priority"] = (int)TaskHeaders.MaxPriority };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly RabbitMqConnection _connection = new(url, "topology");

    public async Task DeclareAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await using var channel = await _connection.CreateChannelAsync(null, cancellationToken);
            await channel.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, QueueArguments(), cancellationToken: cancellationToken);
            await channel.QueueBindAsync(queue, queue, "", cancellationToken: cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        _gate.Dispose();
    }
}
