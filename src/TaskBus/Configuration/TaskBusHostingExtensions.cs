using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Quartz;
using TaskBus.Contracts;
using TaskBus.Diagnostics;
using TaskBus.Events;
using TaskBus.Execution;
using TaskBus.Scheduling;
using TaskBus.Storage;
using TaskBus.Transport;

namespace TaskBus;

/// <summary>Adds TaskBus to a host.</summary>
public static class TaskBusHostingExtensions
{
    /// <summary>
    /// Adds TaskBus: options from the <c>TaskBus</c> section (then <paramref name="configure"/>),
    /// the manager, MassTransit on the configured transport with the task queue, lifecycle events
    /// and, when scheduling, Quartz. Bad settings throw <see cref="OptionsValidationException"/>
    /// or <see cref="InvalidOperationException"/> naming the key.
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
        // The transport and roles decide which services exist, so the options are read now.
        var options = new TaskBusOptions();
        section.Bind(options);
        configure?.Invoke(options);
        var validation = new TaskBusOptionsValidator().Validate(null, options);
        if (validation.Failed)
            throw new OptionsValidationException(TaskBusOptions.SectionName, typeof(TaskBusOptions), validation.Failures);

        // One bound object (IOptions<TaskBusOptions>) serves every reader at run time; what was read above to decide
        // which services exist may not change after this call, and a Configure that changes it stops start-up.
        services.AddOptions<TaskBusOptions>().Bind(section).Configure(o => configure?.Invoke(o)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TaskBusOptions>, TaskBusOptionsValidator>();
        services.AddSingleton<IValidateOptions<TaskBusOptions>>(new TaskBusRegistrationCheck(options));
        services.TryAddSingleton(TimeProvider.System);
        var registry = new TaskRegistry();
        var builder = new TaskBusBuilder(services, registry);
        services.AddSingleton(registry);
        services.AddScoped(sp => new TaskRunContext(sp.GetRequiredService<TaskManager>(), sp.GetRequiredService<ITaskStore>()));
        AddManager(services, options);
        services.AddMetrics();
        services.AddSingleton<TaskBusMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<TaskBusMetrics>());
        AddStore(services, options);
        // Registered before MassTransit's hosted service, so they stop after the bus: the changes made while
        // the bus stops (runs interrupted at the end of the grace period) are still published and stored.
        // The RabbitMQ event channel and the store do not need the bus.
        if (options.PublishEvents)
        {
            services.AddSingleton<ITaskRunEventSink>(sp => options.Transport == TaskBusTransport.RabbitMQ
                && sp.GetRequiredService<IBus>().Topology.TryGetPublishAddress<TaskRunEvent>(out var address)
                    ? new RabbitMqEventSink(new Uri(Bound(sp).RabbitMQ.Url), address.AbsolutePath.Split('/')[^1], sp.GetRequiredService<TimeProvider>())
                    : new BusEventSink(sp.GetRequiredService<IBus>()));
            services.AddSingleton<TaskRunEventPublisher>();
            services.AddHostedService(sp => sp.GetRequiredService<TaskRunEventPublisher>());
        }

        services.AddSingleton<TaskStoreWriter>();
        // The shared store is the record of runs: a run's message is acknowledged once its final state is in it.
        // Events are notifications and are not waited for; the memory store dies with its process anyway.
        if (options.Store.Provider == TaskStoreProvider.PostgreSQL)
            services.AddSingleton<IStateChangeOutlet>(sp => sp.GetRequiredService<TaskStoreWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<TaskStoreWriter>());

        (addMassTransit ?? ((s, c) => s.AddMassTransit(c)))(services, x =>
        {
            if (options.Transport == TaskBusTransport.RabbitMQ)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    var bound = Bound(context);
                    cfg.Host(new Uri(bound.RabbitMQ.Url));
                    // A plain Publish(new Add {...}) from this process goes to this group's queue, like a queued run.
                    cfg.RouteTaskMessages(bound.QueueName, registry.Select(t => t.ParamsType));
                    if (bound.ConsumeTasks)
                        cfg.ReceiveEndpoint(bound.QueueName, e =>
                        {
                            e.EnablePriority(TaskHeaders.MaxPriority);
                            ConfigureTaskEndpoint(e, context, bound);
                        });
                    builder.BusConfigurations.ForEach(configure => configure(context, cfg));
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) =>
                {
                    var bound = Bound(context);
                    TaskRoutingExtensions.RouteToQueueExchange(cfg, bound.QueueName, registry.Select(t => t.ParamsType));
                    if (bound.ConsumeTasks)
                        cfg.ReceiveEndpoint(bound.QueueName, e => ConfigureTaskEndpoint(e, context, bound));
                    builder.BusConfigurations.ForEach(configure => configure(context, cfg));
                });
            }
        });
        services.AddPublishObserver<TaskPublishObserver>();
        services.AddReceiveObserver<TaskReceiveObserver>();
        services.AddOptions<MassTransitHostOptions>().Configure<IOptions<TaskBusOptions>>((o, taskBus) =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = taskBus.Value.StartTimeout;
            o.ConsumerStopTimeout = taskBus.Value.StoppingGracePeriod;
            o.StopTimeout = taskBus.Value.StoppingGracePeriod + TimeSpan.FromSeconds(30);
        });
        if (options.ConsumeTasks)
        {
            services.AddHostedService<WorkerHeartbeat>();
            services.AddHostedService<TaskStorePruner>();
        }
        // MassTransit reports usage to an outside host unless told not to; TaskBus turns that off unless asked.
        services.AddOptions<UsageTelemetryOptions>().Configure<IOptions<TaskBusOptions>>((o, taskBus) => o.Enabled = taskBus.Value.MassTransitUsageTelemetry);
        if (options.Transport == TaskBusTransport.RabbitMQ)
        {
            services.AddSingleton<ITaskQueueTopology>(sp => new RabbitMqTaskQueueTopology(new Uri(Bound(sp).RabbitMQ.Url), Bound(sp).QueueName));
            services.AddSingleton<IDelayedRequeue>(sp => new RabbitMqDelayedRequeue(new Uri(Bound(sp).RabbitMQ.Url), Bound(sp).QueueName, sp.GetRequiredService<TimeProvider>()));
        }
        services.AddSingleton(sp => new TaskQueue(sp.GetRequiredService<IBus>(), Bound(sp), sp.GetService<ITaskQueueTopology>()));
        services.AddSingleton<ITaskQueueBroker>(sp => options.Transport == TaskBusTransport.RabbitMQ
            ? new RabbitMqTaskQueueBroker(Bound(sp).RabbitMQ, Bound(sp).QueueName)
            : new InMemoryTaskQueueBroker(Bound(sp).QueueName));

        if (options.ScheduleTasks)
            AddScheduler(services, options);
        AddHealthChecks(services, options);
        return builder;
    }

    /// <summary>
    /// Readiness of what a worker needs, tagged <c>ready</c> beside MassTransit's own bus check: the PostgreSQL
    /// store when it is the store, the scheduler when this worker schedules.
    /// </summary>
    private static void AddHealthChecks(IServiceCollection services, TaskBusOptions options)
    {
        var checks = services.AddHealthChecks();
        string[] ready = ["ready", "taskbus"];
        if (options.Store.Provider == TaskStoreProvider.PostgreSQL)
            checks.AddNpgSql(options.Store.ConnectionString, name: "taskbus-store", tags: ready, timeout: TimeSpan.FromSeconds(5));
        if (options.ScheduleTasks)
            checks.AddCheck<SchedulerHealthCheck>("taskbus-scheduler", tags: ready);
    }

    private static void AddStore(IServiceCollection services, TaskBusOptions options)
    {
        if (options.Store.Provider == TaskStoreProvider.PostgreSQL)
            services.AddSingleton<ITaskStore>(sp => new PostgresTaskStore(Bound(sp).Store.ConnectionString));
        else
            services.AddSingleton<ITaskStore>(_ => new MemoryTaskStore());
        // Registered before MassTransit, so the store is ready before the first message arrives.
        services.AddHostedService<TaskStoreInitializer>();
    }

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
                // One clustered schedule shared by every scheduling worker of the group: each tick fires on one node.
                // A node silent for twice the check-in interval is taken over at the next check-in of another,
                // which fires the ticks it missed at once: within three check-in intervals of its death.
                // Clustering gives each node its own generated instance id.
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

    private static void AddManager(IServiceCollection services, TaskBusOptions options)
    {
        if (options.ScheduleTasks)
        {
            services.AddSingleton<TaskBusScheduler>();
            services.AddSingleton<TaskConsumer>(sp => sp.GetRequiredService<TaskBusScheduler>());
            services.AddSingleton<TaskManager>(sp => sp.GetRequiredService<TaskBusScheduler>());
        }
        else if (options.ConsumeTasks)
        {
            services.AddSingleton<TaskConsumer>();
            services.AddSingleton<TaskManager>(sp => sp.GetRequiredService<TaskConsumer>());
        }
        else
        {
            services.AddSingleton<TaskManager>();
        }
    }

    /// <summary>The options every reader uses at run time.</summary>
    private static TaskBusOptions Bound(IServiceProvider services) => services.GetRequiredService<IOptions<TaskBusOptions>>().Value;

    private static void ConfigureTaskEndpoint(IReceiveEndpointConfigurator endpoint, IRegistrationContext context, TaskBusOptions options)
    {
        // Prefetch no more than we run: a message the broker has sent us is no longer re-ordered by priority.
        endpoint.PrefetchCount = options.MaxConcurrentTasks + options.ExtraPrefetch;
        endpoint.ConcurrentMessageLimit = options.MaxConcurrentTasks;
        // Runs are sent to this queue's own exchange; binding the records' exchanges as well would give every
        // group on the vhost a copy of every plain publish.
        endpoint.ConfigureConsumeTopology = false;
        // A message no task takes is a poison message: error queue with the reason, not the _skipped queue.
        endpoint.ConfigureDeadLetter(x => x.UseFilter(new UnknownMessageFilter()));
        var consumer = context.GetRequiredService<TaskConsumer>();
        foreach (var task in consumer.Registry)
        {
            if (task.Invoker is not null)
                task.Message.ConfigureConsumer(endpoint, consumer, task);
        }
    }
}
