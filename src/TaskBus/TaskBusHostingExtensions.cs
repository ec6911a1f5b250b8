using System.Collections.Frozen;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Consuming;
using TaskBus.Contracts;
using TaskBus.Diagnostics;
using TaskBus.Execution;
using TaskBus.MassTransit;
using TaskBus.Postgres;
using TaskBus.RabbitMq;
using TaskBus.Runs;
using TaskBus.Scheduling;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus;

/// <summary>Adds TaskBus to a host.</summary>
public static class TaskBusHostingExtensions
{
    /// <summary>
    /// Adds TaskBus: options from the <c>TaskBus</c> section (then <paramref name="configure"/>), the
    /// <see cref="TaskManager"/>, MassTransit on the configured transport with the task queue, lifecycle events, the
    /// store and, when scheduling, Quartz. A value the section cannot hold throws <see cref="InvalidOperationException"/>
    /// naming the key; bad settings stop start-up with <see cref="OptionsValidationException"/>, each failure naming the key.
    /// </summary>
    public static TaskBusBuilder AddTaskBus(this IHostApplicationBuilder builder, Action<TaskBusOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Services.AddTaskBus(builder.Configuration.GetSection(TaskBusOptions.SectionName), configure);
    }

    /// <summary>Adds TaskBus to a service collection, binding options from <paramref name="section"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="section">The <c>TaskBus</c> configuration section.</param>
    /// <param name="configure">Changes applied after binding.</param>
    /// <param name="addMassTransit">
    /// How MassTransit is added, given TaskBus's bus configuration. Defaults to <c>AddMassTransit</c>;
    /// tests pass <c>AddMassTransitTestHarness</c>.
    /// </param>
    public static TaskBusBuilder AddTaskBus(
        this IServiceCollection services,
        IConfiguration section,
        Action<TaskBusOptions>? configure = null,
        Func<IServiceCollection, Action<IBusRegistrationConfigurator>, IServiceCollection>? addMassTransit = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        return services.AddTaskBus(TaskBusOptions.Bind(section, configure), addMassTransit);
    }

    /// <summary>
    /// Adds TaskBus with options bound already (<see cref="TaskBusOptions.Bind"/>), for a host that read them to
    /// decide something of its own first (the reference worker: whether it serves HTTP).
    /// </summary>
    internal static TaskBusBuilder AddTaskBus(
        this IServiceCollection services,
        TaskBusOptions options,
        Func<IServiceCollection, Action<IBusRegistrationConfigurator>, IServiceCollection>? addMassTransit = null)
    {
        var registry = new TaskRegistry();
        var builder = new TaskBusBuilder(services, registry);
        AddOptions(services, options, registry);
        AddRuns(services);
        // The store and the event publisher are registered before MassTransit's hosted service, so they stop after the
        // bus: the changes made while the bus stops (runs interrupted at the end of the grace period) still go out.
        AddStore(services, options);
        AddEvents(services, options);
        AddClient(services);
        if (options.ConsumeTasks)
            AddConsuming(services);
        AddBus(services, options, builder, addMassTransit);
        if (options.ConsumeTasks)
            AddWorkerReports(services);
        if (options.ScheduleTasks)
            AddScheduler(services, options);
        AddDiagnostics(services, options);
        return builder;
    }

    /// <summary>The one options object: the bound one, every later <c>Configure</c> applied, checked once; the registry with the schedules and retries it sets.</summary>
    private static void AddOptions(IServiceCollection services, TaskBusOptions options, TaskRegistry registry)
    {
        services.AddOptions<TaskBusOptions>().ValidateOnStart();
        services.AddSingleton<IOptionsFactory<TaskBusOptions>>(sp => new TaskBusOptionsFactory(
            options, sp.GetServices<IConfigureOptions<TaskBusOptions>>(), sp.GetServices<IPostConfigureOptions<TaskBusOptions>>(),
            sp.GetServices<IValidateOptions<TaskBusOptions>>()));
        services.AddSingleton<IValidateOptions<TaskBusOptions>>(new TaskBusOptionsValidator(registry));
        services.AddSingleton(sp =>
        {
            var bound = sp.GetRequiredService<IOptions<TaskBusOptions>>().Value;
            foreach (var (name, schedule) in bound.Schedules)
                registry.Replace(registry.Get(name).WithSchedule(TaskSchedule.Parse(schedule)));
            foreach (var (name, retry) in bound.Retries)
                registry.Replace(registry.Get(name).WithRetry(retry.ApplyTo(registry.Get(name).Retry)));
            return registry;
        });
        // MassTransit reports usage to an outside host unless told not to; TaskBus turns that off unless asked.
        services.AddOptions<UsageTelemetryOptions>().Configure<IOptions<TaskBusOptions>>((o, taskBus) => o.Enabled = taskBus.Value.MassTransitUsageTelemetry);
        services.AddOptions<MassTransitHostOptions>().Configure<IOptions<TaskBusOptions>>((o, taskBus) =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = taskBus.Value.StartTimeout;
            o.ConsumerStopTimeout = taskBus.Value.StoppingGracePeriod;
            o.StopTimeout = taskBus.Value.StoppingGracePeriod + TimeSpan.FromSeconds(30);
        });
    }

    /// <summary>A run's life: the lifecycle and its sinks, the handlers, execution, and the run's own scope.</summary>
    private static void AddRuns(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<RunHandlers>();
        services.AddSingleton<RunsInProgress>();
        services.AddSingleton(sp => new RunGroup(sp.GetRequiredService<IOptions<TaskBusOptions>>().Value.QueueName));
        services.AddSingleton<RunLifecycle>();
        services.AddSingleton<RunCancellations>();
        services.AddSingleton<RunTally>();
        services.AddSingleton<TaskExecutor>();
        services.AddScoped(sp => new TaskRunContext(
            sp.GetRequiredService<TaskRegistry>(), sp.GetRequiredService<IRunQueue>(), sp.GetRequiredService<ITaskStore>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<RunLifecycle>()));
    }

    /// <summary>The client: queue, wait, execute, handlers; also how a running task queues another.</summary>
    private static void AddClient(IServiceCollection services)
    {
        services.AddSingleton(sp => new TaskManager(
            sp.GetRequiredService<TaskRegistry>(), sp.GetRequiredService<IOptions<TaskBusOptions>>(), sp.GetRequiredService<RunLifecycle>(),
            sp.GetRequiredService<RunHandlers>(), sp.GetRequiredService<IRunSender>(), sp.GetRequiredService<IQueueControl>(),
            sp.GetRequiredService<TaskExecutor>(), sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<RunsInProgress>(),
            sp.GetRequiredService<ITaskStore>(), sp.GetRequiredService<TaskStoreWriter>(), sp.GetRequiredService<RunCancellations>(), sp.GetRequiredService<ILogger<TaskManager>>(),
            sp.GetRequiredService<RunTally>()));
        services.AddSingleton<IRunQueue>(sp => sp.GetRequiredService<TaskManager>());
    }

    /// <summary>
    /// The store, created or upgraded before anything else starts, and its writer: every change of every run is
    /// written to it; with PostgreSQL it is the record a run's message waits for before it is acknowledged.
    /// </summary>
    private static void AddStore(IServiceCollection services, TaskBusOptions options)
    {
        if (options.Store.Provider == TaskStoreProvider.PostgreSQL)
            services.AddSingleton<ITaskStore>(sp => new PostgresTaskStore(sp.GetRequiredService<IOptions<TaskBusOptions>>().Value.Store.ConnectionString));
        else
            services.AddSingleton<ITaskStore, MemoryTaskStore>();
        services.AddSingleton<StoreOutage>();
        services.AddHostedService<TaskStoreInitializer>();
        services.AddSingleton<TaskStoreWriter>();
        services.AddSingleton<IRunSink>(sp => sp.GetRequiredService<TaskStoreWriter>());
        if (options.Store.Provider == TaskStoreProvider.PostgreSQL)
            services.AddSingleton<IRunRecord>(sp => sp.GetRequiredService<TaskStoreWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<TaskStoreWriter>());
    }

    /// <summary>Every change published as a <see cref="TaskRunEvent"/>: on RabbitMQ on a channel of TaskBus's own, else through the bus.</summary>
    private static void AddEvents(IServiceCollection services, TaskBusOptions options)
    {
        if (!options.PublishEvents)
            return;
        // The bus is built after the sinks (its consumers and observers need the lifecycle): it is read at the first event.
        if (options.Transport == TaskBusTransport.RabbitMQ)
        {
            services.AddSingleton<IRunEventTransport>(sp => new RabbitMqEventTransport(
                sp.GetRequiredService<RabbitMqConnection>(),
                new Lazy<string>(() => sp.GetRequiredService<IBus>().Topology.TryGetPublishAddress<TaskRunEvent>(out var address)
                    ? address.AbsolutePath.Split('/')[^1]
                    : throw new InvalidOperationException("The bus has no publish address for TaskRunEvent.")),
                sp.GetRequiredService<TimeProvider>(),
                new Lazy<string>(() => sp.GetRequiredService<IBus>().Topology.TryGetPublishAddress<TaskRunProgress>(out var address)
                    ? address.AbsolutePath.Split('/')[^1]
                    : throw new InvalidOperationException("The bus has no publish address for TaskRunProgress."))));
        }
        else
        {
            services.AddSingleton<IRunEventTransport>(sp => new BusEventTransport(new Lazy<IBus>(sp.GetRequiredService<IBus>)));
        }
        services.AddSingleton<RunEventPublisher>();
        services.AddSingleton<IRunSink>(sp => sp.GetRequiredService<RunEventPublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<RunEventPublisher>());
    }

    /// <summary>The worker side: the consume path the task queue's consumers hand their runs to.</summary>
    private static void AddConsuming(IServiceCollection services)
    {
        // Across the network a read waits a millisecond for the runs that arrive with it.
        services.AddSingleton(sp => new RunStandings(
            sp.GetRequiredService<ITaskStore>(),
            sp.GetRequiredService<IOptions<TaskBusOptions>>().Value.Store.Provider == TaskStoreProvider.PostgreSQL ? TimeSpan.FromMilliseconds(1) : TimeSpan.Zero));
        services.AddSingleton<RunIntake>();
        // Runs that arrive through several queues take the worker's slots by priority.
        services.AddSingleton(sp => sp.GetService<RabbitMqLayout>() is { Gated: true } layout
            ? new TaskEndpointSwitch(layout.Queues.Count, new PrioritySlots(sp.GetRequiredService<IOptions<TaskBusOptions>>().Value.MaxConcurrentTasks))
            : new TaskEndpointSwitch());
        services.AddSingleton<IRunIntakeSwitch>(sp => sp.GetRequiredService<TaskEndpointSwitch>());
        services.AddSingleton<RunProcessor>();
        services.AddSingleton(sp => new ConsumePath(sp.GetRequiredService<RunLifecycle>(), sp.GetRequiredService<RunProcessor>()));
    }

    /// <summary>A consuming worker's heartbeat and store pruning, started after the bus: a worker is live once it consumes.</summary>
    private static void AddWorkerReports(IServiceCollection services)
    {
        services.AddHostedService<WorkerHeartbeat>();
        services.AddSingleton<TaskStorePruner>();
        services.AddHostedService(sp => sp.GetRequiredService<TaskStorePruner>());
        services.AddHostedService<CancelWatcher>();
        services.AddHostedService<DelayedDispatcher>();
        services.AddHostedService(sp => new PauseWatcher(
            sp.GetRequiredService<ITaskStore>(), sp.GetRequiredService<RunIntake>(), sp.GetRequiredService<IRunIntakeSwitch>(),
            sp.GetRequiredService<IOptions<TaskBusOptions>>().Value.QueueName, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PauseWatcher>>()));
    }

    /// <summary>
    /// MassTransit on the configured transport: the group's queue (its receive endpoint when consuming), what sends to
    /// it, what reads and clears it, and the observers that give plain publishes and poison messages their runs.
    /// </summary>
    private static void AddBus(
        IServiceCollection services, TaskBusOptions options, TaskBusBuilder builder,
        Func<IServiceCollection, Action<IBusRegistrationConfigurator>, IServiceCollection>? addMassTransit)
    {
        var rabbitMq = options.Transport == TaskBusTransport.RabbitMQ;
        if (rabbitMq && options.ConsumeTasks)
        {
            // Before the bus declares its endpoints: a worker whose layout differs from its group's on the broker refuses.
            services.AddHostedService(sp => new RabbitMqLayoutCheck(sp.GetRequiredService<RabbitMqTopology>()));
        }
        (addMassTransit ?? ((s, c) => s.AddMassTransit(c)))(services, x =>
        {
            if (rabbitMq)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    var pause = context.GetService<TaskEndpointSwitch>();
                    RabbitMqBus.Configure(
                        cfg, Bound(context), context.GetRequiredService<RabbitMqLayout>(), context.GetRequiredService<TaskRegistry>(), ConsumePathOf(context), pause, pause?.Slots);
                    builder.BusConfigurations.ForEach(configure => configure(context, cfg));
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) =>
                {
                    var bound = Bound(context);
                    var registry = context.GetRequiredService<TaskRegistry>();
                    cfg.UseRawJsonDeserializer(RawJsonBody.Options);
                    QueueRouting.RouteToQueueExchange(cfg, bound.QueueName, registry.Select(t => t.ParamsType));
                    if (bound.ConsumeTasks)
                        cfg.ReceiveEndpoint(bound.QueueName, e => TaskEndpoint.Configure(
                            e, registry, bound, ConsumePathOf(context), context.GetService<TaskEndpointSwitch>(), context.GetRequiredService<InMemoryErrorQueue>()));
                    builder.BusConfigurations.ForEach(configure => configure(context, cfg));
                });
            }
        });
        services.AddPublishObserver<TaskPublishObserver>();
        services.AddReceiveObserver<TaskReceiveObserver>();
        services.AddSingleton(sp => new RunStamp(rabbitMq ? RabbitMqBus.Stamp(sp.GetRequiredService<RabbitMqLayout>()) : (context, _) => RawJsonBody.Use(context)));
        if (rabbitMq)
        {
            services.AddSingleton(sp => RabbitMqLayout.Of(Bound(sp)));
            services.AddSingleton(sp =>
            {
                var url = new Uri(Bound(sp).RabbitMQ.Url);
                return new RabbitMqConnection(url, RabbitMqBus.Nodes(url, Bound(sp).RabbitMQ));
            });
            services.AddSingleton<IBrokerState>(sp => new RabbitMqBrokerState(sp.GetRequiredService<RabbitMqConnection>(), Bound(sp).RabbitMQ));
            services.AddSingleton(sp => new RabbitMqTopology(sp.GetRequiredService<RabbitMqConnection>(), sp.GetRequiredService<RabbitMqLayout>()));
            services.AddSingleton(sp => new RabbitMqDelayQueue(sp.GetRequiredService<RabbitMqConnection>(), sp.GetRequiredService<RabbitMqLayout>(), sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton<IQueueControl>(sp => new RabbitMqQueueControl(
                sp.GetRequiredService<RabbitMqConnection>(), Bound(sp).RabbitMQ, sp.GetRequiredService<RabbitMqTopology>(), sp.GetRequiredService<TaskRegistry>()));
        }
        else
        {
            services.AddSingleton<InMemoryErrorQueue>();
            services.AddSingleton<IQueueControl>(sp => new InMemoryQueueControl(
                Bound(sp).QueueName, sp.GetRequiredService<InMemoryErrorQueue>(), new ErrorMessageReader(sp.GetRequiredService<TaskRegistry>())));
        }
        services.AddSingleton<IRunSender>(sp => new BusRunSender(
            sp.GetRequiredService<IBus>(), sp.GetRequiredService<RunStamp>(), AddressOf(sp, rabbitMq), Bound(sp).QueueName,
            rabbitMq ? sp.GetRequiredService<RabbitMqTopology>() : null, rabbitMq ? sp.GetRequiredService<RabbitMqDelayQueue>() : null,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<BusRunSender>>(),
            rabbitMq ? Bound(sp).RabbitMQ.PublishTimeout : null, rabbitMq ? sp.GetRequiredService<IBrokerState>() : null));
    }

    /// <summary>Where a run of a priority is sent: the group's queue, or on RabbitMQ the next of its layout's queues for that priority.</summary>
    private static Func<TaskPriority, Uri> AddressOf(IServiceProvider sp, bool rabbitMq)
    {
        if (!rabbitMq)
        {
            var queue = new Uri($"queue:{Bound(sp).QueueName}");
            return _ => queue;
        }
        var layout = sp.GetRequiredService<RabbitMqLayout>();
        var addresses = layout.Names.ToFrozenDictionary(name => name, name => new Uri($"exchange:{name}"), StringComparer.Ordinal);
        return priority => addresses[layout.Next(priority)];
    }

    /// <summary>
    /// The group's clustered schedule on Quartz: one job per scheduled task, each tick queued once. With the PostgreSQL
    /// store every scheduling worker of the group shares one schedule in Quartz's tables, and each tick fires on one node.
    /// </summary>
    private static void AddScheduler(IServiceCollection services, TaskBusOptions options)
    {
        services.AddSingleton<TaskTicks>();
        services.AddQuartz(q =>
        {
            // Each worker group has its own schedule, also when groups share one database.
            q.ConfigureScheduler(s => s.InstanceName = $"taskbus-{options.QueueName}");
            q.AddTriggerListener<FireOnceListener>(GroupMatcher<TriggerKey>.GroupEquals(TaskScheduleRegistrar.Group));
            if (options.Store.Provider == TaskStoreProvider.PostgreSQL)
            {
                // A node silent for twice the check-in interval is taken over at the next check-in of another, which
                // fires the ticks it missed at once: within three check-in intervals of its death. Clustering gives each
                // node its own generated instance id.
                q.UsePersistentStore(store =>
                {
                    store.UsePostgres(options.Store.ConnectionString);
                    store.UseSystemTextJsonSerializer();
                    store.UseClustering(c =>
                    {
                        c.CheckinInterval = options.SchedulerCheckinInterval;
                        c.CheckinMisfireThreshold = options.SchedulerCheckinInterval;
                    });
                    store.ProvisionSchema();
                });
            }
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddHostedService<TaskScheduleRegistrar>();
    }

    /// <summary>
    /// The <c>TaskBus</c> meter, and readiness of what a worker needs, tagged <c>ready</c> beside MassTransit's own bus
    /// check: the PostgreSQL store when it is the store, the scheduler when this worker schedules.
    /// </summary>
    private static void AddDiagnostics(IServiceCollection services, TaskBusOptions options)
    {
        services.AddMetrics();
        services.AddSingleton(sp => new TaskBusMetrics(
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), options.ConsumeTasks ? sp.GetRequiredService<RunsInProgress>() : null,
            sp.GetRequiredService<IQueueControl>(), sp.GetRequiredService<StoreOutage>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<RunTally>()));
        services.AddSingleton<IRunSink>(sp => sp.GetRequiredService<TaskBusMetrics>());
        services.AddHostedService(sp => sp.GetRequiredService<TaskBusMetrics>());
        var checks = services.AddHealthChecks();
        string[] ready = ["ready", "taskbus"];
        if (options.Store.Provider == TaskStoreProvider.PostgreSQL)
        {
            checks.AddNpgSql(sp => Bound(sp).Store.ConnectionString, name: "taskbus-store", tags: ready, timeout: TimeSpan.FromSeconds(5));
            checks.AddCheck<StoreOutageHealthCheck>("taskbus-store-outage", tags: ready);
        }
        if (options.ScheduleTasks)
            checks.AddCheck<SchedulerHealthCheck>("taskbus-scheduler", tags: ready);
        if (options.Transport == TaskBusTransport.RabbitMQ)
            checks.AddCheck<BrokerHealthCheck>("taskbus-broker", tags: ready);
    }

    /// <summary>The options every reader uses at run time.</summary>
    private static TaskBusOptions Bound(IServiceProvider services) => services.GetRequiredService<IOptions<TaskBusOptions>>().Value;

    /// <summary>
    /// The consume path, resolved at the first message: it needs the lifecycle, whose sinks need the bus being built.
    /// </summary>
    private static Lazy<ConsumePath> ConsumePathOf(IServiceProvider services) => new(services.GetRequiredService<ConsumePath>);
}
