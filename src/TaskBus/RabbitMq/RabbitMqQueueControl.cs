using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.MassTransit;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.RabbitMq;

/// <summary>
/// The worker group's queues on RabbitMQ (<see cref="RabbitMqLayout"/>: one, or one per shard and, on quorum queues,
/// per priority), on TaskBus's connection; every figure and action covers all of them. The length is read live (passive
/// declares). Counts per priority are live too on quorum queues (a queue per priority); a classic queue has none in
/// AMQP: those come from the management API (<c>priority_lengths</c>), which the broker refreshes every few seconds
/// (<c>collect_statistics_interval</c>), and are missing, with the reason, where the management plugin is off or the
/// user may not read it. Removing takes waiting messages one by one and acknowledges those it removes; the others go
/// back to the queue where they were.
/// </summary>
internal sealed class RabbitMqQueueControl : IQueueControl, IDisposable
{
    private const ushort NotFound = 404;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly RabbitMqConnection _connection;
    private readonly RabbitMqLayout _layout;
    private readonly RabbitMqLayoutMigration _migration;
    private readonly Uri _management;
    private readonly HttpClient _http;
    private readonly string _vhost;
    private readonly TaskRegistry _registry;
    private readonly ErrorMessageReader _errors;

    public RabbitMqQueueControl(RabbitMqConnection connection, RabbitMqOptions options, RabbitMqTopology topology, TaskRegistry registry)
    {
        _errors = new ErrorMessageReader(registry);
        var factory = new ConnectionFactory { Uri = new Uri(options.Url) };
        _connection = connection;
        _layout = topology.Layout;
        _registry = registry;
        _http = RabbitMqManagement.CreateClient(options);
        _management = _http.BaseAddress!;
        _vhost = Uri.EscapeDataString(factory.VirtualHost);
        _migration = new RabbitMqLayoutMigration(connection, topology, new ManagementApi(_http, _vhost));
    }

    public async Task<long?> GetLengthAsync(CancellationToken cancellationToken) => await CountAllAsync();

    public async Task<TaskQueueStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        if (_layout.Type == RabbitMqQueueType.Quorum)
        {
            long high = 0, medium = 0, low = 0;
            foreach (var queue in _layout.Queues)
            {
                var n = await CountAsync(queue.Name);
                _ = queue.Priority switch
                {
                    TaskPriority.High => high += n,
                    TaskPriority.Medium => medium += n,
                    _ => low += n,
                };
            }
            var (length, counts) = (high + medium + low, new TaskPriorityCounts(high, medium, low));
            return new TaskQueueStatus(_layout.Group, length, counts, $"RabbitMQ, live: a quorum queue per priority ({_layout.Description})");
        }
        var total = await CountAllAsync();
        var (byPriority, source) = await ByPriorityAsync(total, cancellationToken);
        return new TaskQueueStatus(_layout.Group, total, byPriority, source);
    }

    public Task<IReadOnlyList<RemovedMessage>> RemoveAsync(TaskPriority? priority, CancellationToken cancellationToken) =>
        WithChannelAsync(async channel =>
        {
            var removed = new List<RemovedMessage>();
            foreach (var queue in _layout.Queues)
            {
                if (queue.Priority is { } held && priority is { } wanted && held != wanted)
                    continue;
                await RemoveAsync(channel, queue.Name, queue.Priority is null ? priority : null, removed, cancellationToken);
            }
            return (IReadOnlyList<RemovedMessage>)removed;
        }, cancellationToken);

    public Task<QueueMigration> MigrateAsync(CancellationToken cancellationToken) => _migration.MigrateAsync(cancellationToken);

    /// <summary>Takes one queue's waiting messages (of one priority, in a classic queue that holds all three).</summary>
    private async Task RemoveAsync(IChannel channel, string queue, TaskPriority? priority, List<RemovedMessage> removed, CancellationToken cancellationToken)
    {
        var waiting = await CountAsync(queue);
        byte? target = priority is { } p ? RunStamp.ToBrokerPriority(p) : null;
        ulong lastKept = 0;
        // No more than were waiting at the start: runs queued meanwhile are not this call's to remove.
        for (long i = 0; i < waiting; i++)
        {
            var got = await channel.BasicGetAsync(queue, autoAck: false, cancellationToken);
            if (got is null)
                break;
            var props = got.BasicProperties;
            var gotPriority = Math.Min(props.IsPriorityPresent() ? props.Priority : (byte)0, RunStamp.MaxPriority);
            if (target is null || gotPriority == target)
            {
                removed.Add(Removed(props, got.Body));
                await channel.BasicAckAsync(got.DeliveryTag, multiple: false, cancellationToken);
            }
            else
            {
                lastKept = got.DeliveryTag;
                // The broker hands out higher priorities first: past the target's, none of it is left.
                if (gotPriority < target)
                    break;
            }
        }
        // Back where they were; closing the channel would do the same if this fails.
        if (lastKept > 0)
            await channel.BasicNackAsync(lastKept, multiple: true, requeue: true, cancellationToken);
    }

    public Task<IReadOnlyList<ErrorMessage>> PeekErrorsAsync(int limit, CancellationToken cancellationToken) =>
        WithChannelAsync(async channel =>
        {
            var errorQueue = _layout.ErrorQueue;
            var seen = new List<ErrorMessage>();
            ulong last = 0;
            while (seen.Count < limit && await TryGetAsync(channel, errorQueue, cancellationToken) is { } got)
            {
                seen.Add(ReadError(got));
                last = got.DeliveryTag;
            }
            // All back where they were: reading changes nothing.
            if (last > 0)
                await channel.BasicNackAsync(last, multiple: true, requeue: true, cancellationToken);
            return (IReadOnlyList<ErrorMessage>)seen;
        }, cancellationToken);

    public Task<IReadOnlyList<T>> TakeErrorsAsync<T>(
        IReadOnlySet<string>? runIds, Func<ErrorMessage, Task<(bool Remove, T Result)>> handle, CancellationToken cancellationToken) =>
        WithChannelAsync(async channel =>
        {
            var errorQueue = _layout.ErrorQueue;
            var results = new List<T>();
            var waiting = await CountAsync(errorQueue);
            ulong lastKept = 0;
            for (long i = 0; i < waiting; i++)
            {
                if (await TryGetAsync(channel, errorQueue, cancellationToken) is not { } got)
                    break;
                var message = ReadError(got);
                var remove = false;
                if (runIds is null || runIds.Contains(message.Info.RunId))
                {
                    (remove, var result) = await handle(message);
                    results.Add(result);
                }
                if (remove)
                    await channel.BasicAckAsync(got.DeliveryTag, multiple: false, cancellationToken);
                else
                    lastKept = got.DeliveryTag;
                if (runIds is not null && results.Count == runIds.Count)
                    break;
            }
            if (lastKept > 0)
                await channel.BasicNackAsync(lastKept, multiple: true, requeue: true, cancellationToken);
            return (IReadOnlyList<T>)results;
        }, cancellationToken);

    public void Dispose()
    {
        _http.Dispose();
        _gate.Dispose();
    }

    /// <summary>What a message taken out of the queue says of its run; its params are read as its task's record.</summary>
    private RemovedMessage Removed(IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body)
    {
        RunHeader? header = properties.Headers?.TryGetValue(RunHeader.Name, out var value) == true && value is byte[] bytes
            && RunHeader.TryParse(Encoding.UTF8.GetString(bytes), out var parsed) ? parsed : null;
        var parameters = header is { } h && _registry.TryGet(h.Task, out var task) ? MassTransitEnvelope.TryReadMessage(body, task.ParamsType) : null;
        return new RemovedMessage(Guid.TryParse(properties.MessageId, out var id) ? id : null, header, parameters);
    }

    private async Task<T> WithChannelAsync<T>(Func<IChannel, Task<T>> use, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await using var channel = await _connection.CreateChannelAsync(null, cancellationToken);
            return await use(channel);
        }
        finally
        {
            _gate.Release();
        }
    }

    private ErrorMessage ReadError(BasicGetResult got) => _errors.Read(got.BasicProperties.MessageId, got.Body, name =>
        got.BasicProperties.Headers?.TryGetValue(name, out var value) == true
            ? value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                null => null,
                _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
            }
            : null);

    /// <summary>The next message of a queue, unacknowledged; null when it is empty or was never declared.</summary>
    private static async Task<BasicGetResult?> TryGetAsync(IChannel channel, string queue, CancellationToken cancellationToken)
    {
        try
        {
            return await channel.BasicGetAsync(queue, autoAck: false, cancellationToken);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
        {
            return null;
        }
    }

    /// <summary>Messages waiting in all the group's queues; a queue nobody declared yet holds none.</summary>
    private async Task<long> CountAllAsync()
    {
        long total = 0;
        foreach (var queue in _layout.Queues)
            total += await CountAsync(queue.Name);
        return total;
    }

    /// <summary>Messages waiting in a queue; one that is not there holds none.</summary>
    private async Task<long> CountAsync(string queue) => (await _connection.PassiveDeclareAsync(queue, CancellationToken.None))?.MessageCount ?? 0;

    private async Task<(TaskPriorityCounts?, string)> ByPriorityAsync(long length, CancellationToken cancellationToken)
    {
        var source = $"RabbitMQ management API at {_management}, as the broker last sampled the queue{(_layout.Shards > 1 ? "s" : "")}";
        long high = 0, medium = 0, low = 0;
        foreach (var queue in _layout.Queues)
        {
            try
            {
                using var response = await _http.GetAsync($"api/queues/{_vhost}/{Uri.EscapeDataString(queue.Name)}?columns=backing_queue_status", cancellationToken);
                if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
                    continue;
                if (!response.IsSuccessStatusCode)
                    return (null, $"per priority unavailable: the RabbitMQ management API at {_management} answered {(int)response.StatusCode} {response.ReasonPhrase}");
                using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
                // A queue the broker has not sampled yet has no status: the answer is then an empty list ([]).
                if (body.RootElement.ValueKind != JsonValueKind.Object || !body.RootElement.TryGetProperty("backing_queue_status", out var status) || status.ValueKind != JsonValueKind.Object
                    || !status.TryGetProperty("priority_lengths", out var lengths) || lengths.ValueKind != JsonValueKind.Object)
                {
                    return (null, $"per priority unavailable: the RabbitMQ management API at {_management} has no priority_lengths for {queue.Name} (not sampled yet?)");
                }
                long Count(int p) => lengths.TryGetProperty(p.ToString(System.Globalization.CultureInfo.InvariantCulture), out var n) ? n.GetInt64() : 0;
                high += Count(2);
                medium += Count(1);
                low += Count(0);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
            {
                return (null, $"per priority unavailable: the RabbitMQ management API at {_management} cannot be read ({ex.GetType().Name}: {ex.Message}); enable the rabbitmq_management plugin or set TaskBus:RabbitMQ:ManagementUrl");
            }
        }
        var counts = new TaskPriorityCounts(high, medium, low);
        return (counts, high + medium + low == length
            ? source
            : $"{source}; the sample ({high + medium + low}) is older than the live length ({length})");
    }
}
