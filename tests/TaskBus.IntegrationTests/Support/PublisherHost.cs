using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts.Tasks;

namespace TaskBus.IntegrationTests.Support;

/// <summary>An in-test process that only queues tasks: TaskBus with ConsumeTasks and ScheduleTasks off.</summary>
public sealed class PublisherHost : IAsyncDisposable
{
    private readonly IHost _host;

    private PublisherHost(IHost host) => _host = host;

    public TaskManager Manager => _host.Services.GetRequiredService<TaskManager>();

    public static async Task<PublisherHost> StartAsync(RabbitMqFixture rabbit, string queue, string? url = null, Action<TaskBusOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddTaskBus(o =>
        {
            o.Transport = TaskBusTransport.RabbitMQ;
            o.RabbitMQ.Url = url ?? rabbit.Url;
            o.QueueName = queue;
            o.ConsumeTasks = false;
            o.ScheduleTasks = false;
            configure?.Invoke(o);
        }).AddTaskMessagesFromNamespace(typeof(Add).Assembly, typeof(Add).Namespace!);
        var host = builder.Build();
        await host.StartAsync();
        return new PublisherHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
