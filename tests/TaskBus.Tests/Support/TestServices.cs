using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TaskBus.Consuming;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Support;

/// <summary>TaskBus on MassTransit's in-memory test harness, with the sample tasks.</summary>
public sealed class TestServices : IAsyncDisposable
{
    private TestServices(ServiceProvider provider)
    {
        Provider = provider;
        Harness = provider.GetRequiredService<ITestHarness>();
        Manager = provider.GetRequiredService<TaskManager>();
    }

    public ServiceProvider Provider { get; }

    public ITestHarness Harness { get; }

    public TaskManager Manager { get; }

    /// <summary>The worker side's consume path.</summary>
    internal RunProcessor Processor => Provider.GetRequiredService<RunProcessor>();

    /// <summary>This process's runs in progress.</summary>
    internal RunsInProgress Running => Provider.GetRequiredService<RunsInProgress>();

    public static async Task<TestServices> StartAsync(Action<TaskBusOptions>? configure = null, Action<TaskBusBuilder>? tasks = null, TimeProvider? time = null, Action<IServiceCollection>? after = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        if (time is not null)
            services.AddSingleton(time);
        var builder = services.AddTaskBus(
            new ConfigurationBuilder().Build(),
            o =>
            {
                o.ScheduleTasks = false;
                o.MaxConcurrentTasks = 10;
                configure?.Invoke(o);
            },
            (s, configureBus) => s.AddMassTransitTestHarness(configureBus));
        if (tasks is null)
            builder.AddTasksFromAssembly(typeof(DummyTask).Assembly).AddTask<HeldTask>().AddTask<HeldRetryTask>().AddTask<HeldUniqueTask>().AddTask<FailingTask>().AddTask<ProgressTask>();
        else
            tasks(builder);
        after?.Invoke(services);
        var provider = services.BuildServiceProvider(validateScopes: true);
        var result = new TestServices(provider);
        await result.Harness.Start();
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await Provider.DisposeAsync();
    }
}
