using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.MassTransit;

namespace TaskBus.RabbitMq;

/// <summary>
/// Moves a worker group to the layout of this process's settings: declares it, then takes the runs waiting in the
/// group's queues of another layout one by one, sends each to the new layout (its priority kept, the shards in turn)
/// and acknowledges it only once the broker confirmed the copy; then deletes the old queues, once empty. A run is never
/// lost; one whose move is cut between the confirm and the acknowledgement (the process killed there) is found twice,
/// and its second delivery is dropped by the worker once the first ended (with the PostgreSQL store). The error queue
/// of the old type is moved the same way. Processes of the old layout that still send meanwhile: their runs are moved
/// by a second pass; stop them first.
/// </summary>
internal sealed class RabbitMqLayoutMigration(RabbitMqConnection connection, RabbitMqTopology topology, ManagementApi? management = null)
{
    private const ushort NotFound = 404;

    public async Task<QueueMigration> MigrateAsync(CancellationToken cancellationToken)
    {
        var layout = topology.Layout;
        // The old queues first leave every route (a plain publish reaches one layout only), then the new one is declared.
        foreach (var queue in await topology.FindForeignAsync(cancellationToken))
            await DetachAsync(queue.Name, layout.Group, cancellationToken);
        await topology.DeclareLayoutAsync(cancellationToken);
        var moved = new Dictionary<string, long>(StringComparer.Ordinal);
        var deleted = new List<string>();
        var kept = new HashSet<string>(StringComparer.Ordinal);
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        for (var pass = 0; pass < 3; pass++)
        {
            var foreign = await topology.FindForeignAsync(cancellationToken);
            // Retry waits of the old queues dead-letter to them by name: their runs are moved now (they run sooner).
            var waits = (await ListWaitsAsync(cancellationToken)).Where(w => !layout.Names.Contains(TargetOf(w))).ToList();
            var sources = foreign.Select(q => (q.Name, Error: false))
                .Concat(waits.Select(w => (w, Error: false)))
                .Append((OldErrorQueue(layout), Error: true))
                .ToList();
            foreach (var (name, error) in sources)
            {
                if (!error)
                    await DetachAsync(name, layout.Group, cancellationToken);
                var count = await MoveAsync(channel, name, error, layout, cancellationToken);
                if (count > 0)
                    moved[name] = moved.GetValueOrDefault(name) + count;
                switch (await DeleteIfDoneAsync(name, cancellationToken))
                {
                    case true:
                        deleted.Add(name);
                        if (error)
                            await DeleteExchangeAsync(name, cancellationToken);
                        break;
                    case false:
                        kept.Add(name);
                        break;
                }
            }
            if ((await topology.FindForeignAsync(cancellationToken)).Count == 0)
                break;
        }
        // The other type's route between the group's exchange and its queues.
        if (layout.Type == RabbitMqQueueType.Classic)
            await DeleteExchangeAsync($"{layout.Group}.quorum", cancellationToken);
        var left = (await topology.FindForeignAsync(cancellationToken)).Select(q => q.Name).Concat(kept.Where(k => !deleted.Contains(k))).Distinct();
        return new QueueMigration(layout.Description, moved, [.. deleted.Distinct()], [.. left]);
    }

    /// <summary>The group's retry waits on the broker (<c>{queue}_delay_{ms}</c>), from the management API; none where it does not answer.</summary>
    private async Task<IReadOnlyList<string>> ListWaitsAsync(CancellationToken cancellationToken)
    {
        if (management is null)
            return [];
        try
        {
            using var response = await management.Http.GetAsync($"api/queues/{management.Vhost}?columns=name", cancellationToken);
            if (!response.IsSuccessStatusCode)
                return [];
            using var json = await System.Text.Json.JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var group = topology.Layout.Group;
            return [.. json.RootElement.EnumerateArray().Select(q => q.GetProperty("name").GetString()!)
                .Where(n => n.StartsWith(group, StringComparison.Ordinal) && n.Contains("_delay_", StringComparison.Ordinal))];
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            return [];
        }
    }

    private static string TargetOf(string wait) => wait[..wait.LastIndexOf("_delay_", StringComparison.Ordinal)];

    private static string OldErrorQueue(RabbitMqLayout layout) =>
        new RabbitMqLayout(layout.Group, layout.Type == RabbitMqQueueType.Classic ? RabbitMqQueueType.Quorum : RabbitMqQueueType.Classic).ErrorQueue;

    /// <summary>Moves what waits in one old queue; only what waited at the start, so a queue that is fed still ends.</summary>
    private async Task<long> MoveAsync(IChannel channel, string queue, bool error, RabbitMqLayout layout, CancellationToken cancellationToken)
    {
        // Counted on a channel of its own: a queue that is not there closes the channel that asks.
        var waiting = (await connection.PassiveDeclareAsync(queue, cancellationToken))?.MessageCount ?? 0;
        if (waiting == 0)
            return 0;
        long count = 0;
        var fromPriority = RabbitMqLayout.PriorityOfName(queue);
        for (long i = 0; i < waiting; i++)
        {
            var got = await channel.BasicGetAsync(queue, autoAck: false, cancellationToken);
            if (got is null)
                break;
            var properties = new BasicProperties(got.BasicProperties);
            var priority = fromPriority ?? (properties.IsPriorityPresent() ? properties.Priority switch
            {
                >= 2 => TaskPriority.High,
                1 => TaskPriority.Medium,
                _ => TaskPriority.Low,
            } : TaskPriority.Low);
            properties.Priority = RunStamp.ToBrokerPriority(priority);
            properties.Headers ??= new Dictionary<string, object?>();
            properties.Headers[RabbitMqLayout.PriorityHeader] = RabbitMqLayout.HeaderValue(priority);
            // The broker's own record of where it was dead-lettered from means nothing in the new queue.
            properties.Headers.Remove("x-death");
            properties.Headers.Remove("x-delivery-count");
            var target = error ? layout.ErrorQueue : layout.Next(priority);
            // Confirmed before the original is acknowledged: a failure here leaves the run where it was.
            await channel.BasicPublishAsync("", target, mandatory: true, properties, got.Body, cancellationToken);
            await channel.BasicAckAsync(got.DeliveryTag, multiple: false, cancellationToken);
            count++;
        }
        return count;
    }

    /// <summary>
    /// Takes an old queue off every route to it: its own exchange (deleted, but for the group's), the group's exchange,
    /// the priority route of a quorum layout.
    /// </summary>
    private async Task DetachAsync(string queue, string group, CancellationToken cancellationToken)
    {
        if (queue != group)
            await DeleteExchangeAsync(queue, cancellationToken);
        await TryAsync(channel => channel.QueueUnbindAsync(queue, group, "", cancellationToken: cancellationToken), cancellationToken);
        if (RabbitMqLayout.PriorityOfName(queue) is { } priority)
        {
            await TryAsync(channel => channel.QueueUnbindAsync(queue, $"{group}.quorum", "", new Dictionary<string, object?>
            {
                ["x-match"] = "all",
                [RabbitMqLayout.PriorityHeader] = RabbitMqLayout.HeaderValue(priority),
            }, cancellationToken), cancellationToken);
        }
    }

    /// <summary>
    /// Deletes an old queue once it is empty and nobody consumes it (a consumer may hold runs it would hand back):
    /// true when deleted, false when kept, null when it is not there. A quorum queue has no if-empty delete: it is
    /// counted first; nothing routes to it any more.
    /// </summary>
    private async Task<bool?> DeleteIfDoneAsync(string queue, CancellationToken cancellationToken)
    {
        if (await connection.PassiveDeclareAsync(queue, cancellationToken) is not { } found)
            return null;
        if (found.MessageCount > 0 || found.ConsumerCount > 0)
            return false;
        await using var channel = await connection.CreateChannelAsync(null, cancellationToken);
        try
        {
            var quorum = RabbitMqLayout.PriorityOfName(queue) is not null || queue.EndsWith(".quorum_error", StringComparison.Ordinal)
                || queue.Contains("_delay_", StringComparison.Ordinal) && RabbitMqLayout.PriorityOfName(TargetOf(queue)) is not null;
            await channel.QueueDeleteAsync(queue, ifUnused: !quorum, ifEmpty: !quorum, cancellationToken: cancellationToken);
            return true;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode is NotFound)
        {
            return null;
        }
        catch (OperationInterruptedException)
        {
            // Runs or a consumer arrived meanwhile: the next pass sees to it.
            return false;
        }
    }

    /// <summary>One step on a channel of its own: a step the broker refuses (what it names is gone) closes only that channel.</summary>
    private async Task TryAsync(Func<IChannel, Task> step, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(null, cancellationToken);
        try
        {
            await step(channel);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode is NotFound)
        {
        }
    }

    private Task DeleteExchangeAsync(string exchange, CancellationToken cancellationToken) =>
        TryAsync(channel => channel.ExchangeDeleteAsync(exchange, ifUnused: false, cancellationToken: cancellationToken), cancellationToken);
}
