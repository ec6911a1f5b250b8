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
}
