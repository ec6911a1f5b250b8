using RabbitMQ.Client;
using TaskBus.Runs;

namespace TaskBus.RabbitMq;

/// <summary>
/// TaskBus's one RabbitMQ connection beside MassTransit's, shared by everything TaskBus does on the broker itself
/// (declaring the task queue, delay queues, events, the queue's length and clearing it): at hundreds of workers,
/// connections are what a broker runs out of. It is opened on first use, and the client recovers it (and the
/// channels on it) when the broker or the network drops it. A use while it recovers waits for it, a few seconds at
/// most, so a short outage does not fail a retry on its way to its delay queue; a connection that stays closed (the
/// broker refused it, or it was never recovered) is replaced by a new one at the next use. With a cluster's nodes
/// (<c>TaskBus:RabbitMQ:Nodes</c>) it connects to the URL's node first, else to the next that answers, and recovers
/// onto another node when its own dies.
/// </summary>
internal sealed class RabbitMqConnection(Uri url, IReadOnlyList<string>? nodes = null) : IAsyncDisposable
{
    /// <summary>How long a use waits for a dropped connection to come back before it opens a new one.</summary>
    public static readonly TimeSpan RecoveryWait = TimeSpan.FromSeconds(5);

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
    private readonly Lock _lock = new();
    private IConnection? _connection;
    private volatile string? _blocked;
    // Completed while the connection is up; a new, pending one from the moment it drops until it is back.
    private TaskCompletionSource _recovered = Completed();

    /// <summary>The broker's reason while it blocks this connection (a resource alarm: it published during one); else null.</summary>
    public string? BlockedReason => _blocked;

    /// <summary>A new channel; the caller disposes it, or keeps it (the client recovers it with the connection).</summary>
    public async Task<IChannel> CreateChannelAsync(CreateChannelOptions? options, CancellationToken cancellationToken)
    {
        try
        {
            return await CreateOnceAsync(options, cancellationToken);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            // The connection was dropped as this use began, before the client saw it go: wait for it like a later use.
            return await CreateOnceAsync(options, cancellationToken);
        }
    }

    /// <summary>
    /// A queue's counts, asked on a channel of its own (a queue that is not there closes the channel that asks, and a
    /// caller's channel goes on); null when it is not there (never declared, or its node is down).
    /// </summary>
    public async Task<QueueDeclareOk?> PassiveDeclareAsync(string queue, CancellationToken cancellationToken)
    {
        await using var channel = await CreateChannelAsync(null, cancellationToken);
        try
        {
            return await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
            await CloseAsync(connection);
        _opening.Dispose();
    }

    private async Task<IChannel> CreateOnceAsync(CreateChannelOptions? options, CancellationToken cancellationToken)
    {
        var connection = _connection;
        if (connection is { IsOpen: false })
        {
            Task recovered;
            lock (_lock)
                recovered = _recovered.Task;
            try
            {
                await recovered.WaitAsync(RecoveryWait, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Not back: the next open replaces it.
            }
        }
        if (connection is not { IsOpen: true })
            connection = await OpenAsync(connection, cancellationToken);
        return await connection.CreateChannelAsync(options, cancellationToken);
    }

    private async Task<IConnection> OpenAsync(IConnection? closed, CancellationToken cancellationToken)
    {
        await _opening.WaitAsync(cancellationToken);
        try
        {
            // Another use may have replaced it meanwhile, or it may have come back.
            if (_connection is { } current && (current != closed || current.IsOpen))
                return current;
            if (closed is not null)
                await CloseAsync(closed);
            var connection = nodes is { Count: > 1 }
                ? await _factory.CreateConnectionAsync(new InOrder(_factory, nodes), _factory.ClientProvidedName, cancellationToken)
                : await _factory.CreateConnectionAsync(cancellationToken);
            _blocked = null;
            connection.ConnectionShutdownAsync += (_, _) =>
            {
                // A connection that is gone is blocked no more; the broker says so again on the next if it still is.
                _blocked = null;
                lock (_lock)
                {
                    if (_recovered.Task.IsCompleted)
                        _recovered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                return Task.CompletedTask;
            };
            connection.ConnectionBlockedAsync += (_, e) =>
            {
                _blocked = e.Reason;
                return Task.CompletedTask;
            };
            connection.ConnectionUnblockedAsync += (_, _) =>
            {
                _blocked = null;
                return Task.CompletedTask;
            };
            connection.RecoverySucceededAsync += (_, _) =>
            {
                lock (_lock)
                    _recovered.TrySetResult();
                return Task.CompletedTask;
            };
            lock (_lock)
                _recovered.TrySetResult();
            return _connection = connection;
        }
        finally
        {
            _opening.Release();
        }
    }

    /// <summary>
    /// Closes a channel kept open, waiting 2 s at most: a broker that blocks the connection (a resource alarm) does not
    /// read the close. A channel not closed in time is left to the connection's close.
    /// </summary>
    public static async Task CloseAsync(IChannel channel)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await channel.CloseAsync(bounded.Token);
            channel.Dispose();
        }
        catch (Exception)
        {
            // Closed already, or the broker does not answer: the connection's close ends it.
        }
    }

    private static async Task CloseAsync(IConnection connection)
    {
        try
        {
            // A broker that blocks the connection (a resource alarm) does not read its close either: wait 2 s at most.
            await connection.CloseAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception)
        {
            // Already closed by the broker or the network; nothing is left to close.
        }
        connection.Dispose();
    }

    /// <summary>The cluster's nodes in the order given (the client's own resolver shuffles them).</summary>
    private sealed class InOrder(ConnectionFactory factory, IReadOnlyList<string> nodes) : IEndpointResolver
    {
        public IEnumerable<AmqpTcpEndpoint> All() => nodes.Select(node =>
        {
            var colon = node.LastIndexOf(':');
            return new AmqpTcpEndpoint(node[..colon], int.Parse(node[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), factory.Ssl);
        });
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }
}
