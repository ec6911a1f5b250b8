using RabbitMQ.Client;

namespace TaskBus.Transport;

/// <summary>Reads the task queue's depth from RabbitMQ (a passive declare on a connection of its own, opened on first use).</summary>
internal sealed class RabbitMqQueueLength(Uri url, string queue) : IQueueLength, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly RabbitMqConnection _connection = new(url, "status");

    public async Task<long?> GetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await using var channel = await _connection.CreateChannelAsync(null, cancellationToken);
            return await channel.MessageCountAsync(queue, cancellationToken);
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
