namespace TaskBus.Configuration;

/// <summary>
/// TaskBus settings, bound from the <c>TaskBus</c> configuration section. <c>AddTaskBus</c> reads
/// <see cref="Transport"/>, <see cref="ConsumeTasks"/>, <see cref="ScheduleTasks"/>, <see cref="PublishEvents"/>,
/// <see cref="QueueName"/>, <see cref="SchedulerCheckinInterval"/> and <see cref="Store"/> to decide which services
/// exist: changing one of those after it throws <see cref="InvalidOperationException"/> naming the key. Every
/// other setting may still change until the host starts.
/// </summary>
public sealed class TaskBusOptions
{
    /// <summary>The configuration section: <c>TaskBus</c>.</summary>
    public const string SectionName = "TaskBus";

    private readonly ReadByAddTaskBus _guard = new();
    private TaskBusTransport _transport = TaskBusTransport.InMemory;
    private string _queueName = "taskbus-tasks";
    private bool _consumeTasks = true;
    private bool _scheduleTasks = true;
    private bool _publishEvents = true;
    private TimeSpan _schedulerCheckinInterval = TimeSpan.FromMilliseconds(500);
    private TaskStoreOptions _store = new();
    private Lazy<TaskBusOptions>? _configured;

    /// <summary>Options with every default.</summary>
    public TaskBusOptions() => _store.Guard = _guard;

    /// <summary>The broker. Defaults to <see cref="TaskBusTransport.InMemory"/>.</summary>
    public TaskBusTransport Transport
    {
        get => _transport;
        set => _transport = _guard.Set(nameof(Transport), _transport, value);
    }

    /// <summary>RabbitMQ settings, used when <see cref="Transport"/> is RabbitMQ.</summary>
    public RabbitMqOptions RabbitMQ { get; set; } = new();

    /// <summary>The priority queue every task message lands in. Defaults to <c>taskbus-tasks</c>.</summary>
    public string QueueName
    {
        get => _queueName;
        set => _queueName = _guard.Set(nameof(QueueName), _queueName, value);
    }

    /// <summary>Tasks this process runs at once; 1 to 1000. Defaults to 5.</summary>
    public int MaxConcurrentTasks { get; set; } = 5;

    /// <summary>
    /// Messages the broker sends ahead of the ones running; 0 to 1000. A prefetched message is no
    /// longer re-ordered by priority, so keep it small. Defaults to 0: exactly <see cref="MaxConcurrentTasks"/> in flight.
    /// </summary>
    public int ExtraPrefetch { get; set; }

    /// <summary>This process consumes tasks. Defaults to true.</summary>
    public bool ConsumeTasks
    {
        get => _consumeTasks;
        set => _consumeTasks = _guard.Set(nameof(ConsumeTasks), _consumeTasks, value);
    }

    /// <summary>This process runs the periodic scheduler. Defaults to true.</summary>
    public bool ScheduleTasks
    {
        get => _scheduleTasks;
        set => _scheduleTasks = _guard.Set(nameof(ScheduleTasks), _scheduleTasks, value);
    }

    /// <summary>How long shutdown waits for running tasks before cancelling them. Defaults to 10 s.</summary>
    public TimeSpan StoppingGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long start-up waits for the broker. Defaults to 60 s.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Publish every state change as a <see cref="Contracts.TaskRunEvent"/> on the bus. Defaults to true.</summary>
    public bool PublishEvents
    {
        get => _publishEvents;
        set => _publishEvents = _guard.Set(nameof(PublishEvents), _publishEvents, value);
    }

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
    public TimeSpan SchedulerCheckinInterval
    {
        get => _schedulerCheckinInterval;
        set => _schedulerCheckinInterval = _guard.Set(nameof(SchedulerCheckinInterval), _schedulerCheckinInterval, value);
    }

    /// <summary>
    /// Schedules that replace the ones declared on tasks, by task name: an interval (<c>00:00:01</c>, as
    /// <c>[Every]</c>), a 5-field crontab (<c>0 8 * * *</c>), or <c>off</c>. Defaults to none.
    /// </summary>
    public Dictionary<string, string> Schedules { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Store settings.</summary>
    public TaskStoreOptions Store
    {
        get => _store;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _guard.Set("Store:Provider", _store.Provider, value.Provider);
            _guard.Set("Store:ConnectionString", _store.ConnectionString, value.ConnectionString, show: false);
            value.Guard = _guard;
            _store = value;
        }
    }

    /// <summary>HTTP settings.</summary>
    public TaskHttpOptions Http { get; set; } = new();

    /// <summary>Runs <paramref name="configure"/> on this object the first time only; every later call gets its outcome.</summary>
    internal TaskBusOptions ConfigureOnce(Func<TaskBusOptions> configure)
    {
        Interlocked.CompareExchange(ref _configured, new Lazy<TaskBusOptions>(configure), null);
        return _configured.Value;
    }

    /// <summary>
    /// Binds the section once, applies <paramref name="configure"/>, and marks what <c>AddTaskBus</c> reads as read.
    /// </summary>
    internal static TaskBusOptions Bind(Microsoft.Extensions.Configuration.IConfiguration section, Action<TaskBusOptions>? configure)
    {
        var options = new TaskBusOptions();
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(section, options);
        configure?.Invoke(options);
        options._guard.Read = true;
        return options;
    }
}
