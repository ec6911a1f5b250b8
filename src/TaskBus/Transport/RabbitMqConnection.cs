using RabbitMQ.Client;

namespace TaskBus.Transport;

/// <summary>
/// A RabbitMQ connection of TaskBus's own (beside MassTransit's), opened on first use and replaced on
/// the next use after the broker dropped it (a restart), so its users need no recovery logic of their own.
/// </summary>
internal sealed class RabbitMqConnection(Uri url, string purpose) : IAsyncDisposable
{
    private readonly ConnectionFactory _factory = new()
    {
        Uri = url,
        ClientProvidedName = $"taskbus-{purpose}-{TaskManager.WorkerName}",
        AutomaticRecoveryEnabled = false,
    };

    private IConnection? _connection;

    /// <summary>An open channel on a live connection; call under the caller's own serialisation.</summary>
    public async Task<IChannel> CreateChannelAsync(CreateChannelOptions? options, CancellationToken cancellationToken)
    {
        if (_connection is not { IsOpen: true })
        {
            await ResetAsync();
            _connection = await _factory.CreateConnectionAsync(cancellationToken);
        }
        return await _connection.CreateChannelAsync(options, cancellationToken);
    }

    /// <summary>Drops the connection; the next channel comes from a new one.</summary>
    public async Task ResetAsync()
    {
        try
        {
            if (_connection is { IsOpen: true })
                await _connection.CloseAsync();
        }
        catch (Exception)
        {
            // The connection is already gone; nothing to close.
        }
        _connection?.Dispose();
        _connection = null;
    }

    public async ValueTask DisposeAsync() => await ResetAsync();
}
