namespace TaskBus.Configuration;

/// <summary>RabbitMQ connection settings (<c>TaskBus:RabbitMQ</c>).</summary>
public sealed class RabbitMqOptions
{
    /// <summary>The broker address, vhost in the path. Defaults to <c>amqp://guest:guest@localhost:5672/</c>.</summary>
    public string Url { get; set; } = "amqp://guest:guest@localhost:5672/";

    /// <summary>
    /// The management API, read for the queue's counts per priority (AMQP has none), with the credentials of
    /// <see cref="Url"/>. Defaults to port 15672 of the broker's host.
    /// </summary>
    public string? ManagementUrl { get; set; }

    /// <summary>
    /// How long queueing a run (<c>QueueAsync</c>, HTTP, the CLI, a scheduled tick, a retry) waits for the broker to
    /// confirm it before it answers that the run is not confirmed, with the broker's reason (a memory or disk alarm
    /// blocking publishers, the broker unreachable). Default 10 s.
    /// </summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The nodes of a RabbitMQ cluster, <c>host:port</c> each (a list, or one comma-separated string): MassTransit's
    /// connection and TaskBus's own connect to the node of <see cref="Url"/> first, else to the next that answers, and
    /// move to another when theirs dies, without a restart. <see cref="Url"/> still gives the credentials and the vhost.
    /// Empty (the default): the node of <see cref="Url"/> only.
    /// </summary>
    public IList<string> Nodes { get; set; } = [];

    /// <summary>
    /// The worker group's queues: <see cref="RabbitMqQueueType.Classic"/> (the default; one priority queue on one node) or
    /// <see cref="RabbitMqQueueType.Quorum"/> (replicated on <see cref="ReplicationFactor"/> nodes; one queue per
    /// priority). Every process of a group must agree, and agree with the broker: a process started with another layout
    /// than the one its group has on the broker refuses to start, naming this setting.
    /// </summary>
    public RabbitMqQueueType QueueType { get; set; } = RabbitMqQueueType.Classic;

    /// <summary>
    /// The worker group's queue split in this many queues (1 to 64; default 1): senders spread runs over them round-robin,
    /// every worker consumes all of them. One queue is one Erlang process on one node; shards put the group's load on
    /// several. Changing it for a group on the broker needs <c>publisher migrate-queues</c>.
    /// </summary>
    public int Shards { get; set; } = 1;

    /// <summary>
    /// Quorum queues: how many times a run's message may be handed back (a pause, a clear that keeps it, a worker that
    /// stopped with it) before the broker dead-letters it to the error queue (RabbitMQ 4 drops it after 20 by default).
    /// Default 1,000.
    /// </summary>
    public int DeliveryLimit { get; set; } = 1000;

    /// <summary>Quorum queues: on how many nodes each queue is replicated (at most the cluster's size). Default 3.</summary>
    public int ReplicationFactor { get; set; } = 3;

    /// <summary>The cluster's nodes, <see cref="Nodes"/> with comma-separated entries split, trimmed, empty ones left out.</summary>
    public IReadOnlyList<string> NodeList() =>
        [.. Nodes.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
}
