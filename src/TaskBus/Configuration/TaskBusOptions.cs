namespace TaskBus;

/// <summary>TaskBus settings, bound from the <c>TaskBus</c> configuration section.</summary>
public sealed class TaskBusOptions
{
    /// <summary>The configuration section: <c>TaskBus</c>.</summary>
    public const string SectionName = "TaskBus";

    /// <summary>The broker. Defaults to <see cref="TaskBusTransport.InMemory"/>.</summary>
    public TaskBusTransport Transport { get; set; } = TaskBusTransport.InMemory;

    /// <summary>RabbitMQ settings, used when <see cref="Transport"/> is RabbitMQ.</summary>
    public RabbitMqOptions RabbitMQ { get; set; } = new();

    /// <summary>The priority queue every task message lands in. Defaults to <c>taskbus-tasks</c>.</summary>
    public string QueueName { get; set; } = "taskbus-tasks";

    /// <summary>Tasks this process runs at once; 1 to 1000. Defaults to 5.</summary>
    public int MaxConcurrentTasks { get; set; } = 5;

    /// <summary>
    /// Messages the broker sends ahead of the ones running; 0 to 1000. A prefetched message is no
    /// longer re-ordered by priority, so keep it small. Defaults to 0: exactly <see cref="MaxConcurrentTasks"/> in flight.
    /// </summary>
    public int ExtraPrefetch { get; set; }

    /// <summary>This process consumes tasks. Defaults to true.</summary>
    public bool ConsumeTasks { get; set; } = true;

    /// <summary>This process runs the periodic scheduler. Defaults to true.</summary>
    public bool ScheduleTasks { get; set; } = true;

    /// <summary>How long shutdown waits for running tasks before cancelling them. Defaults to 10 s.</summary>
    public TimeSpan StoppingGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long start-up waits for the broker. Defaults to 60 s.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Publish every state change as a <see cref="Contracts.TaskRunEvent"/> on the bus. Defaults to true.</summary>
    public bool PublishEvents { get; set; } = true;

    /// <summary>
    /// Let MassTransit report its usage telemetry to its authors' host. Defaults to false; the
    /// <c>MASSTRANSIT_USAGE_TELEMETRY</c> environment variable, when set, wins.
    /// </summary>
    public bool MassTransitUsageTelemetry { get; set; }

    /// <summary>Retry policies changed from configuration, by task name. Defaults to none.</summary>
    public Dictionary<string, RetryOptions> Retries { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How often each scheduling worker checks in to the clustered schedule (PostgreSQL store); a worker
    /// silent for twice this long has its triggers taken over, within three intervals of its death.
    /// Defaults to 500 ms.
    /// </summary>
    public TimeSpan SchedulerCheckinInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Schedules that replace the ones declared on tasks, by task name: an interval (<c>00:00:01</c>, as
    /// <c>[Every]</c>), a 5-field crontab (<c>0 8 * * *</c>), or <c>off</c>. Defaults to none.
    /// </summary>
    public Dictionary<string, string> Schedules { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Store settings.</summary>
    public TaskStoreOptions Store { get; set; } = new();

    /// <summary>HTTP settings.</summary>
    public TaskHttpOptions Http { get; set; } = new();
}
