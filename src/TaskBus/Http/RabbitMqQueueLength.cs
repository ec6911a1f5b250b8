using RabbitMQ.Client;

namespace TaskBus.Http;

/// <summary>Reads the task queue's depth from RabbitMQ (a passive declare on a connection of its own, opened on first use).</summary>
internal sealed class RabbitMqQueueLength(Uri url, string queue) : IQueueLength, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;

    public async Task<long?> GetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is { IsOpen: false })
            {
                _connection.Dispose();
                _connection = null;
            }
            _connection ??= await new ConnectionFactory { Uri = url, ClientProvidedName = $"taskbus-status-{TaskManager.WorkerName}" }
                .CreateConnectionAsync(cancellationToken);
            await using var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
            return await channel.MessageCountAsync(queue, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.CloseAsync();
            _connection.Dispose();
        }
        _gate.Dispose();
    }
}
