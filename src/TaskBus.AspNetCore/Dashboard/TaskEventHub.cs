using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.Http.Dashboard;

/// <summary>
/// Hands every task run event to the dashboards that are connected. Where events go on the bus, it listens
/// there (a temporary queue, bound only while a dashboard is open), so it shows every worker's runs; with
/// events off it shows this process's own. Every worker group publishes to the same exchanges: a page gets its own
/// group's events (<see cref="TaskRunEvent.Queue"/>) unless it asks for all. A slow page loses its oldest events
/// rather than holding memory.
/// </summary>
internal sealed partial class TaskEventHub(IBus bus, TaskManager manager, IOptions<TaskBusOptions> options, ILogger<TaskEventHub> logger) : IAsyncDisposable
{
    private const int BufferPerClient = 1024;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Client[] _clients = [];
    private readonly string _queue = options.Value.QueueName;
    private HostReceiveEndpointHandle? _busListener;
    private bool _handlersAdded;

    /// <summary>
    /// Subscribes to events from now on: once this returns, no event can slip past the subscription. Only this worker
    /// group's, unless <paramref name="allGroups"/>.
    /// </summary>
    public async Task<Subscription> SubscribeAsync(bool allGroups, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<object>(new BoundedChannelOptions(BufferPerClient)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        await AddAsync(new Client(channel, allGroups), cancellationToken);
        return new Subscription(this, channel);
    }

    private sealed record Client(Channel<object> Channel, bool AllGroups);

    /// <summary>One page's events; disposing it unsubscribes.</summary>
    internal sealed class Subscription(TaskEventHub hub, Channel<object> channel) : IAsyncDisposable
    {
        public ChannelReader<object> Reader => channel.Reader;

        public ValueTask DisposeAsync() => new(hub.RemoveAsync(channel));
    }

    private void Broadcast(object evt, string queue)
    {
        // An event without a group comes from a worker older than groups on events: taken as this group's.
        var own = queue.Length == 0 || string.Equals(queue, _queue, StringComparison.Ordinal);
        foreach (var client in Volatile.Read(ref _clients))
        {
            if (own || client.AllGroups)
                client.Channel.Writer.TryWrite(evt);
        }
    }

    private async Task AddAsync(Client client, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            Volatile.Write(ref _clients, [.. _clients, client]);
            if (!options.Value.PublishEvents)
            {
                // This process's own changes, as its handlers see them.
                if (!_handlersAdded)
                {
                    foreach (var state in Enum.GetValues<TaskState>().Where(s => s != TaskState.Init))
                        manager.RegisterHandler($"{state.ToWire()}.dashboard", run => Broadcast(run.ToEvent(TaskManager.WorkerName), _queue));
                }
                _handlersAdded = true;
            }
            else if (_busListener is null)
            {
                var handle = bus.ConnectReceiveEndpoint(new TemporaryEndpointDefinition(), DefaultEndpointNameFormatter.Instance, e =>
                {
                    // One at a time, so the pages get each process's events in the order it sent them.
                    e.ConcurrentMessageLimit = 1;
                    e.Handler<TaskRunEvent>(context =>
                    {
                        Broadcast(context.Message, context.Message.Queue);
                        return Task.CompletedTask;
                    });
                    e.Handler<TaskRunProgress>(context =>
                    {
                        Broadcast(context.Message, context.Message.Queue);
                        return Task.CompletedTask;
                    });
                });
                _busListener = handle;
                await handle.Ready.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RemoveAsync(Channel<object> channel)
    {
        await _gate.WaitAsync();
        try
        {
            Volatile.Write(ref _clients, [.. _clients.Where(c => c.Channel != channel)]);
            if (_clients.Length == 0 && _busListener is { } listener)
            {
                // The last page closed: its temporary queue goes away with it.
                _busListener = null;
                try
                {
                    await listener.StopAsync(CancellationToken.None);
                }
#pragma warning disable CA1031 // The bus may be stopping or gone; the queue is auto-delete either way.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    LogStopFailed(logger, ex);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_busListener is { } listener)
        {
            try
            {
                await listener.StopAsync(CancellationToken.None);
            }
#pragma warning disable CA1031
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogStopFailed(logger, ex);
            }
        }
        _gate.Dispose();
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Debug, Message = "Stopping the dashboard's event listener failed")]
    private static partial void LogStopFailed(ILogger logger, Exception exception);
}
