using RabbitMQ.Client;
using TaskBus.Runs;

namespace TaskBus.RabbitMq;

/// <summary>
/// TaskBus's one RabbitMQ connection beside MassTransit's, shared by everything TaskBus does on the broker itself
/// (declaring the task queue, delay queues, events, the queue's length and clearing it): at hundreds of workers,
/// connections are what a broker runs out of. It is opened on first use; once open, the client recovers it (and
/// the channels on it) when the broker drops it, and a use while it is down fails at once, so its users need no
/// recovery logic of their own.
/// </summary>
internal sealed class RabbitMqConnection(Uri url) : IAsyncDisposable
{
    private readonly ConnectionFactory _factory = new()
    {
        Uri = url,
        ClientProvidedName = $"taskbus-{ThisWorker.Name}",
        AutomaticRecoveryEnabled = true,
        // The queues and exchanges TaskBus uses are durable and declared again where they are used.
        TopologyRecoveryEnabled = false,
        NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
    };

    private readonly SemaphoreSlim _opening = new(1, 1);
    private IConnection? _connection;

    /// <summary>A new channel; the caller disposes it, or keeps it (the client recovers it with the connection).</summary>
    public async Task<IChannel> CreateChannelAsync(CreateChannelOptions? options, CancellationToken cancellationToken)
    {
        var connection = _connection ?? await OpenAsync(cancellationToken);
        return await connection.CreateChannelAsync(options, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            try
            {
                await connection.CloseAsync();
            }
            catch (Exception)
            {
                // Already closed by the broker or the network; nothing is left to close.
            }
            connection.Dispose();
        }
        _opening.Dispose();
    }

    private async Task<IConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await _opening.WaitAsync(cancellationToken);
        try
        {
            // Recovery covers a connection once it was open: a first open that fails is tried again by the next use.
            return _connection ??= await _factory.CreateConnectionAsync(cancellationToken);
        }
        finally
        {
            _opening.Release();
        }
    }
}
