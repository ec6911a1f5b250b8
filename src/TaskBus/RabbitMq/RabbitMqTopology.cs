using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using TaskBus.Configuration;
using TaskBus.MassTransit;

namespace TaskBus.RabbitMq;

/// <summary>A queue of a worker group found on the broker, with the runs waiting in it.</summary>
internal sealed record FoundQueue(string Name, uint Waiting);

/// <summary>
/// The worker group's queues on the broker (<see cref="RabbitMqLayout"/>): declared exactly as a worker's receive
/// endpoints declare them, each with the exchange of its name bound to it, where runs are sent; and the group's exchange
/// bound to the queue(s) of shard 1. Before declaring, it looks for the queues the group has under another layout: a
/// process whose layout differs from the one on the broker refuses, naming the setting, rather than split the group's
/// runs over two layouts (<see cref="RabbitMqLayoutMigration"/> moves them).
/// </summary>
internal sealed class RabbitMqTopology(RabbitMqConnection connection, RabbitMqLayout layout) : IQueueDeclaration
{
    private const ushort NotFound = 404;
    private const ushort PreconditionFailed = 406;

    public RabbitMqLayout Layout => layout;

    public async Task DeclareAsync(CancellationToken cancellationToken)
    {
        var foreign = await FindForeignAsync(cancellationToken);
        if (foreign.Count > 0)
            throw new RabbitMqLayoutException(Mismatch(foreign));
        await DeclareLayoutAsync(cancellationToken);
    }

    /// <summary>
    /// Declares the layout's queues, exchanges and bindings, whatever else the group has on the broker; a queue the
    /// broker has with other arguments (another delivery limit or replication factor) is refused naming the settings.
    /// </summary>
    public async Task DeclareLayoutAsync(CancellationToken cancellationToken)
    {
        try
        {
            await DeclareAllAsync(cancellationToken);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == PreconditionFailed)
        {
            throw new RabbitMqLayoutException(
                $"TaskBus:RabbitMQ:DeliveryLimit, ReplicationFactor or QueueType: worker group '{layout.Group}' has a queue on the broker declared "
                + $"otherwise than {layout.Description} with these settings ({ex.ShutdownReason.ReplyText}). Use the settings of the group's other processes.");
        }
    }

    private async Task DeclareAllAsync(CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(null, cancellationToken);
        var arguments = layout.QueueArguments();
        // The error queue as MassTransit's endpoints declare it (their arguments, less dead-lettering): a run the
        // broker dead-letters past its delivery limit has somewhere to go before any run failed.
        var errorArguments = layout.QueueArguments();
        layout.ErrorArguments(errorArguments);
        await channel.ExchangeDeclareAsync(layout.ErrorQueue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(layout.ErrorQueue, durable: true, exclusive: false, autoDelete: false, errorArguments, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(layout.ErrorQueue, layout.ErrorQueue, "", cancellationToken: cancellationToken);
        foreach (var queue in layout.Queues)
        {
            await channel.ExchangeDeclareAsync(queue.Name, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
            await channel.QueueDeclareAsync(queue.Name, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: cancellationToken);
            await channel.QueueBindAsync(queue.Name, queue.Name, "", cancellationToken: cancellationToken);
        }
        await channel.ExchangeDeclareAsync(layout.Group, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        if (layout.PriorityExchange is not { } byPriority)
        {
            await channel.QueueBindAsync(layout.QueueFor(1, Contracts.TaskPriority.Low), layout.Group, "", cancellationToken: cancellationToken);
            return;
        }
        // Quorum: the group's exchange reaches the queue of the message's priority in shard 1; no priority header is low.
        var low = layout.QueueFor(1, Contracts.TaskPriority.Low);
        await channel.ExchangeDeclareAsync(byPriority, ExchangeType.Headers, durable: true, autoDelete: false,
            new Dictionary<string, object?> { ["alternate-exchange"] = low }, cancellationToken: cancellationToken);
        foreach (var priority in new[] { Contracts.TaskPriority.High, Contracts.TaskPriority.Medium, Contracts.TaskPriority.Low })
        {
            await channel.QueueBindAsync(layout.QueueFor(1, priority), byPriority, "", new Dictionary<string, object?>
            {
                ["x-match"] = "all",
                [RabbitMqLayout.PriorityHeader] = RabbitMqLayout.HeaderValue(priority),
            }, cancellationToken: cancellationToken);
        }
        await channel.ExchangeBindAsync(byPriority, layout.Group, "", cancellationToken: cancellationToken);
    }

    /// <summary>The group's queues on the broker that are not of this layout (those of another type or shard count).</summary>
    public async Task<IReadOnlyList<FoundQueue>> FindForeignAsync(CancellationToken cancellationToken) =>
        [.. (await FindAsync(cancellationToken)).Where(q => !layout.Names.Contains(q.Name))];

    /// <summary>Every queue the group has on the broker under any layout, looked for by name (passive declares).</summary>
    public async Task<IReadOnlyList<FoundQueue>> FindAsync(CancellationToken cancellationToken)
    {
        var found = new List<FoundQueue>();
        IChannel? channel = null;
        try
        {
            async Task<bool> ProbeAsync(string name)
            {
                channel ??= await connection.CreateChannelAsync(null, cancellationToken);
                try
                {
                    var ok = await channel.QueueDeclarePassiveAsync(name, cancellationToken);
                    found.Add(new FoundQueue(name, ok.MessageCount));
                    return true;
                }
                catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == NotFound)
                {
                    // The broker closed the channel: the next probe opens another.
                    channel.Dispose();
                    channel = null;
                    return false;
                }
            }

            // One shard of each type, then shard after shard of each sharded type until one is missing.
            foreach (var type in new[] { RabbitMqQueueType.Classic, RabbitMqQueueType.Quorum })
            {
                foreach (var name in RabbitMqLayout.CandidatesOfShard(layout.Group, type, 1, 1))
                    await ProbeAsync(name);
                for (var shard = 1; shard <= 64; shard++)
                {
                    var any = false;
                    foreach (var name in RabbitMqLayout.CandidatesOfShard(layout.Group, type, 2, shard))
                        any |= await ProbeAsync(name);
                    if (!any)
                        break;
                }
            }
            return found;
        }
        finally
        {
            if (channel is not null)
                await RabbitMqConnection.CloseAsync(channel);
        }
    }

    /// <summary>What a process of this layout says when the broker holds the group in another.</summary>
    private string Mismatch(IReadOnlyList<FoundQueue> foreign)
    {
        var quorum = foreign.Any(q => RabbitMqLayout.PriorityOfName(q.Name) is not null);
        var type = quorum ? RabbitMqQueueType.Quorum : RabbitMqQueueType.Classic;
        var shards = foreign.Select(q => ShardOf(q.Name)).DefaultIfEmpty(1).Max();
        var settings = new List<string>();
        if (type != layout.Type)
            settings.Add($"TaskBus:RabbitMQ:QueueType is {layout.Type}");
        if (shards != layout.Shards || settings.Count == 0)
            settings.Add($"TaskBus:RabbitMQ:Shards is {layout.Shards}");
        var waiting = foreign.Sum(q => (long)q.Waiting);
        return $"{string.Join(" and ", settings)}, but worker group '{layout.Group}' is on the broker as {RabbitMqLayout.Describe(type, shards)} "
            + $"({string.Join(", ", foreign.Select(q => q.Name))}: {waiting} run{(waiting == 1 ? "" : "s")} waiting). Set the same layout as the "
            + $"group's other processes, or move its runs to the new layout with `publisher migrate-queues` (run with the new settings) first.";
    }

    private int ShardOf(string name)
    {
        var rest = name.AsSpan(layout.Group.Length);
        if (rest.Length < 2 || rest[0] != '.')
            return 1;
        rest = rest[1..];
        var dot = rest.IndexOf('.');
        return int.TryParse(dot < 0 ? rest : rest[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var shard) ? shard : 1;
    }
}

/// <summary>The worker group's queues on the broker are of another layout than this process's settings.</summary>
internal sealed class RabbitMqLayoutException(string message) : InvalidOperationException(message);
