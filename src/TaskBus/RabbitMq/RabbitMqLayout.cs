using System.Collections.Frozen;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.MassTransit;

namespace TaskBus.RabbitMq;

/// <summary>One queue of a worker group's layout: its name, its shard (1-based) and, on quorum queues, its priority.</summary>
internal sealed record LayoutQueue(string Name, int Shard, TaskPriority? Priority);

/// <summary>
/// A worker group's queues on RabbitMQ, from <c>TaskBus:QueueName</c>, <c>TaskBus:RabbitMQ:QueueType</c> and
/// <c>TaskBus:RabbitMQ:Shards</c>. Each queue has an exchange of its own name bound to it, which is where runs are sent.
/// <list type="bullet">
/// <item>Classic, one shard: the queue <c>{group}</c> (<c>x-max-priority</c> 2), as TaskBus always had.</item>
/// <item>Classic, N shards: <c>{group}.1</c> … <c>{group}.N</c>, each with three priorities.</item>
/// <item>Quorum: a queue per priority, <c>{group}.high</c>, <c>.medium</c>, <c>.low</c>, or <c>{group}.{i}.high</c> … per
/// shard; a worker takes high before medium before low among the runs it holds (<see cref="Consuming.PrioritySlots"/>).</item>
/// </list>
/// The group's exchange <c>{group}</c>, where plain publishes of task records go, reaches exactly one queue: the queue
/// (of shard 1) of the message's priority; on quorum queues through the headers exchange <c>{group}.quorum</c>, by the
/// <c>TaskBus-Priority</c> header (none: low). Senders spread runs over the shards round-robin.
/// </summary>
internal sealed class RabbitMqLayout
{
    /// <summary>The header a run's priority travels in, for the headers exchange of a quorum layout.</summary>
    public const string PriorityHeader = "TaskBus-Priority";

    /// <summary>The delivery limit of a quorum error queue: reading it (the dashboard, <c>errors ls</c>) hands its messages back.</summary>
    public const int ErrorDeliveryLimit = 1_000_000;

    private static readonly TaskPriority[] s_priorities = [TaskPriority.High, TaskPriority.Medium, TaskPriority.Low];
    private readonly string[][] _byShardAndPriority;
    // Each process starts its round at a random shard: a short-lived sender (a command line, a function, a script)
    // queues a run or two, and starting every one of them at shard 1 would leave the other shards empty.
    private int _next = Random.Shared.Next();

    public RabbitMqLayout(string group, RabbitMqQueueType type = RabbitMqQueueType.Classic, int shards = 1, int deliveryLimit = 1000, int replicationFactor = 3)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        Group = group;
        Type = type;
        Shards = shards;
        DeliveryLimit = deliveryLimit;
        ReplicationFactor = replicationFactor;
        _byShardAndPriority = [.. Enumerable.Range(1, shards).Select(shard => s_priorities.Select(p => NameOf(group, type, shards, shard, p)).ToArray())];
        Queues = type == RabbitMqQueueType.Classic
            ? [.. Enumerable.Range(1, shards).Select(shard => new LayoutQueue(NameOf(group, type, shards, shard, null), shard, null))]
            : [.. Enumerable.Range(1, shards).SelectMany(shard => s_priorities.Select(p => new LayoutQueue(NameOf(group, type, shards, shard, p), shard, p)))];
        Names = Queues.Select(q => q.Name).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>The layout of the options' worker group.</summary>
    public static RabbitMqLayout Of(TaskBusOptions options) => new(
        options.QueueName, options.RabbitMQ.QueueType, options.RabbitMQ.Shards, options.RabbitMQ.DeliveryLimit, options.RabbitMQ.ReplicationFactor);

    public string Group { get; }

    public RabbitMqQueueType Type { get; }

    public int Shards { get; }

    public int DeliveryLimit { get; }

    public int ReplicationFactor { get; }

    /// <summary>Every queue of the group, shard by shard (on quorum queues, high, medium, low within a shard).</summary>
    public IReadOnlyList<LayoutQueue> Queues { get; }

    public FrozenSet<string> Names { get; }

    /// <summary>More than one queue: a worker consumes each, and its slots go to the highest priority it holds.</summary>
    public bool Gated => Queues.Count > 1;

    /// <summary>Where the group's failed and poison messages go, from every queue of the group.</summary>
    public string ErrorQueue => Type == RabbitMqQueueType.Classic ? $"{Group}_error" : $"{Group}.quorum_error";

    /// <summary>The headers exchange of a quorum layout, between the group's exchange and the queues of shard 1.</summary>
    public string? PriorityExchange => Type == RabbitMqQueueType.Quorum ? $"{Group}.quorum" : null;

    /// <summary>"Quorum, 3 shards", as messages name a layout.</summary>
    public string Description => Describe(Type, Shards);

    public static string Describe(RabbitMqQueueType type, int shards) => $"{type}, {shards} shard{(shards == 1 ? "" : "s")}";

    /// <summary>The queue of a shard (1-based) for a priority (classic queues hold all three).</summary>
    public string QueueFor(int shard, TaskPriority priority) => _byShardAndPriority[shard - 1][Index(priority)];

    /// <summary>The queue the next run of this priority is sent to: the shards in turn.</summary>
    public string Next(TaskPriority priority)
    {
        if (Shards == 1)
            return _byShardAndPriority[0][Index(priority)];
        var turn = (uint)Interlocked.Increment(ref _next);
        return _byShardAndPriority[turn % (uint)Shards][Index(priority)];
    }

    /// <summary>The arguments of every queue of the layout; a queue declared with others is refused by the broker.</summary>
    public Dictionary<string, object?> QueueArguments() => Type == RabbitMqQueueType.Classic
        ? Shards == 1
            ? new() { ["x-max-priority"] = (int)RunStamp.MaxPriority }
            // Shards on the nodes with the fewest queues (RabbitMQ 3.x's name for it; 4.x reads it as balanced).
            : new() { ["x-max-priority"] = (int)RunStamp.MaxPriority, ["x-queue-master-locator"] = "min-masters" }
        : new()
        {
            ["x-queue-type"] = "quorum",
            // Leaders on the nodes with the fewest: a group's shards and priorities spread over the cluster.
            ["x-queue-leader-locator"] = "balanced",
            ["x-quorum-initial-group-size"] = ReplicationFactor,
            ["x-delivery-limit"] = DeliveryLimit,
            // A run handed back past its limit goes to the error queue, kept until it gets there.
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = ErrorQueue,
            ["x-dead-letter-strategy"] = "at-least-once",
            ["x-overflow"] = "reject-publish",
        };

    /// <summary>The error queue's arguments: the queues' own, less placement and dead-lettering, with a limit reading never reaches.</summary>
    public void ErrorArguments(IDictionary<string, object?> arguments)
    {
        // One error queue whatever the shard count: the same arguments for one shard or several.
        arguments.Remove("x-queue-master-locator");
        if (Type != RabbitMqQueueType.Quorum)
            return;
        arguments.Remove("x-dead-letter-exchange");
        arguments.Remove("x-dead-letter-routing-key");
        arguments.Remove("x-dead-letter-strategy");
        arguments["x-delivery-limit"] = ErrorDeliveryLimit;
    }

    /// <summary>The arguments of a wait of <paramref name="ms"/> before a run goes to <paramref name="target"/>.</summary>
    public Dictionary<string, object?> DelayArguments(string target, long ms)
    {
        var arguments = new Dictionary<string, object?>
        {
            ["x-message-ttl"] = ms,
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = target,
            // A delay queue nobody has used for a minute past its delay deletes itself.
            ["x-expires"] = ms + 60_000,
        };
        if (Type == RabbitMqQueueType.Quorum)
        {
            // The wait survives a node: replicated, and dead-lettered at least once.
            arguments["x-queue-type"] = "quorum";
            arguments["x-quorum-initial-group-size"] = ReplicationFactor;
            arguments["x-dead-letter-strategy"] = "at-least-once";
            arguments["x-overflow"] = "reject-publish";
        }
        return arguments;
    }

    /// <summary>What a header value of <see cref="PriorityHeader"/> is for a priority.</summary>
    public static string HeaderValue(TaskPriority priority) => priority switch
    {
        TaskPriority.High => "high",
        TaskPriority.Medium => "medium",
        _ => "low",
    };

    /// <summary>
    /// The queues a group may have on the broker under any layout, given which exist: the names to look for, in turn,
    /// for shard after shard until one is missing (<see cref="RabbitMqTopology"/> probes them).
    /// </summary>
    public static IEnumerable<string> CandidatesOfShard(string group, RabbitMqQueueType type, int shards, int shard) => type == RabbitMqQueueType.Classic
        ? [NameOf(group, type, shards, shard, null)]
        : s_priorities.Select(p => NameOf(group, type, shards, shard, p));

    /// <summary>The priority a quorum queue of the group holds, from its name; null for a classic one.</summary>
    public static TaskPriority? PriorityOfName(string name) =>
        name.EndsWith(".high", StringComparison.Ordinal) ? TaskPriority.High
        : name.EndsWith(".medium", StringComparison.Ordinal) ? TaskPriority.Medium
        : name.EndsWith(".low", StringComparison.Ordinal) ? TaskPriority.Low
        : null;

    private static string NameOf(string group, RabbitMqQueueType type, int shards, int shard, TaskPriority? priority)
    {
        var stem = shards == 1 ? group : $"{group}.{shard}";
        return type == RabbitMqQueueType.Classic || priority is null ? stem : $"{stem}.{HeaderValue(priority.Value)}";
    }

    private static int Index(TaskPriority priority) => priority switch
    {
        TaskPriority.High => 0,
        TaskPriority.Medium => 1,
        _ => 2,
    };
}
