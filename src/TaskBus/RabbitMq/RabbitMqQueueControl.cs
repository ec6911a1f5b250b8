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
/// The task queue on RabbitMQ, on a connection of its own. The length is read live (a passive declare). AMQP has
/// no count per priority: those come from the management API (<c>priority_lengths</c> of the queue), which the
/// broker refreshes every few seconds (<c>collect_statistics_interval</c>), and are missing, with the reason, where
/// the management plugin is off or the user may not read it. Removing takes waiting messages one by one and
/// acknowledges those it removes; the others go back to the queue where they were.
/// </summary>
internal sealed class RabbitMqQueueControl : IQueueControl, IDisposable
{
    private const ushort NotFound = 404;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly RabbitMqConnection _connection;
    private readonly string _queue;
    private readonly Uri _management;
    private readonly HttpClient _http;
    private readonly string _queuePath;
    private readonly TaskRegistry _registry;
    private readonly ErrorMessageReader _errors;

    public RabbitMqQueueControl(RabbitMqConnection connection, RabbitMqOptions options, string queue, TaskRegistry registry)
    {
        _errors = new ErrorMessageReader(registry);
        var factory = new ConnectionFactory { Uri = new Uri(options.Url) };
        _connection = connection;
        _queue = queue;
        _registry = registry;
        _http = RabbitMqManagement.CreateClient(options);
        _management = _http.BaseAddress!;
        _queuePath = $"api/queues/{Uri.EscapeDataString(factory.VirtualHost)}/{Uri.EscapeDataString(queue)}?columns=backing_queue_status";
    }

    public async Task<long?> GetLengthAsync(CancellationToken cancellationToken) => await WithChannelAsync(CountAsync, cancellationToken);

    public async Task<TaskQueueStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        var length = await WithChannelAsync(CountAsync, cancellationToken);
        var (counts, source) = await ByPriorityAsync(length, cancellationToken);
        return new TaskQueueStatus(_queue, length, counts, source);
    }

    public Task<IReadOnlyList<RemovedMessage>> RemoveAsync(TaskPriority? priority, CancellationToken cancellationToken) =>
        WithChannelAsync(async channel =>
        {
            var removed = new List<RemovedMessage>();
            var waiting = await CountAsync(channel);
            byte? target = priority is { } p ? RunStamp.ToBrokerPriority(p) : null;
            ulong lastKept = 0;
            // No more than were waiting at the start: runs queued meanwhile are not this call's to remove.
            for (long i = 0; i < waiting; i++)
            {
                var got = await channel.BasicGetAsync(_queue, autoAck: false, cancellationToken);
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
            return (IReadOnlyList<RemovedMessage>)removed;
        }, cancellationToken);

    public Task<IReadOnlyList<ErrorMessage>> PeekErrorsAsync(int limit, CancellationToken cancellationToken) =>
        WithChannelAsync(async channel =>
        {
            var errorQueue = _queue + "_error";
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
            var errorQueue = _queue + "_error";
            var results = new List<T>();
            var waiting = await CountAsync(channel, errorQueue);
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

    /// <summary>Messages waiting; a queue nobody declared yet holds none.</summary>
    private Task<long> CountAsync(IChannel channel) => CountAsync(channel, _queue);

    private static async Task<long> CountAsync(IChannel channel, string queue)
    {
        try
        {
            return await channel.MessageCountAsync(queue);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
        {
            return 0;
        }
    }

    private async Task<(TaskPriorityCounts?, string)> ByPriorityAsync(long length, CancellationToken cancellationToken)
    {
        var source = $"RabbitMQ management API at {_management}, as the broker last sampled the queue";
        try
        {
            using var response = await _http.GetAsync(_queuePath, cancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
                return (new TaskPriorityCounts(0, 0, 0), source);
            if (!response.IsSuccessStatusCode)
                return (null, $"per priority unavailable: the RabbitMQ management API at {_management} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            // A queue the broker has not sampled yet has no status: the answer is then an empty list ([]).
            if (body.RootElement.ValueKind != JsonValueKind.Object || !body.RootElement.TryGetProperty("backing_queue_status", out var status) || status.ValueKind != JsonValueKind.Object
                || !status.TryGetProperty("priority_lengths", out var lengths) || lengths.ValueKind != JsonValueKind.Object)
            {
                return (null, $"per priority unavailable: the RabbitMQ management API at {_management} has no priority_lengths for {_queue} (not sampled yet?)");
            }
            long Count(int p) => lengths.TryGetProperty(p.ToString(System.Globalization.CultureInfo.InvariantCulture), out var n) ? n.GetInt64() : 0;
            var counts = new TaskPriorityCounts(Count(2), Count(1), Count(0));
            return (counts, counts.High + counts.Medium + counts.Low == length
                ? source
                : $"{source}; the sample ({counts.High + counts.Medium + counts.Low}) is older than the live length ({length})");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            return (null, $"per priority unavailable: the RabbitMQ management API at {_management} cannot be read ({ex.GetType().Name}: {ex.Message}); enable the rabbitmq_management plugin or set TaskBus:RabbitMQ:ManagementUrl");
        }
    }
}
