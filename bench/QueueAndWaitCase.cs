using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Worker.Tasks;

namespace TaskBus.Bench;

/// <summary>
/// <c>QueueAndWaitAsync</c> of a noop run, one at a time, against MassTransit's request/response to a consumer that
/// answers at once, on the same RabbitMQ and the same kind of priority queue: the latency of one round trip.
/// </summary>
internal static class QueueAndWaitCase
{
    public static async Task<WaitMeasure> RunAsync(string url, int samples)
    {
        var taskBus = await MeasureTaskBusAsync(url, samples);
        var bare = await MeasureBareAsync(url, samples);
        return new WaitMeasure(samples, Stats.Percentile(taskBus, 0.5), Stats.Percentile(taskBus, 0.99), Stats.Percentile(bare, 0.5), Stats.Percentile(bare, 0.99));
    }

    private static async Task<List<double>> MeasureTaskBusAsync(string url, int samples)
    {
        const string Queue = "taskbus-bench-wait";
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddTaskBus(o =>
        {
            o.Transport = TaskBusTransport.RabbitMQ;
            o.RabbitMQ.Url = url;
            o.QueueName = Queue;
            o.ScheduleTasks = false;
        }).AddTask<NoopTask>();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var manager = host.Services.GetRequiredService<TaskManager>();
            return await SampleAsync(samples, () => manager.QueueAndWaitAsync("noop", timeout: TimeSpan.FromSeconds(30)));
        }
        finally
        {
            await host.StopAsync();
            await Rabbit.DeleteQueueAsync(url, Queue);
        }
    }

    private static async Task<List<double>> MeasureBareAsync(string url, int samples)
    {
        const string Queue = "taskbus-bench-rr";
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        builder.Services.AddMassTransit(x =>
        {
            x.AddConsumer<BareResponder>();
            x.AddRequestClient<BareRequest>(new Uri($"exchange:{Queue}"));
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(new Uri(url));
                cfg.ReceiveEndpoint(Queue, e =>
                {
                    e.EnablePriority(2);
                    e.ConfigureConsumer<BareResponder>(context);
                });
            });
        });
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            using var scope = host.Services.CreateScope();
            var client = scope.ServiceProvider.GetRequiredService<IRequestClient<BareRequest>>();
            return await SampleAsync(samples, () => client.GetResponse<BareResponse>(new BareRequest()));
        }
        finally
        {
            await host.StopAsync();
            await Rabbit.DeleteQueueAsync(url, Queue);
        }
    }

    // The first tenth warms up and is not counted.
    private static async Task<List<double>> SampleAsync(int samples, Func<Task> once)
    {
        for (var i = 0; i < Math.Max(20, samples / 10); i++)
            await once();
        var times = new List<double>(samples);
        for (var i = 0; i < samples; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await once();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return times;
    }
}

internal sealed record WaitMeasure(int Samples, double P50Ms, double P99Ms, double BareP50Ms, double BareP99Ms);

/// <summary>Removes what a case declared on the broker.</summary>
internal static class Rabbit
{
    public static async Task DeleteQueueAsync(string url, string queue)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(url) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        // With its error queue, which a TaskBus worker declares as it starts (and nothing else would remove).
        foreach (var name in new[] { queue, $"{queue}_error" })
        {
            await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
            await channel.ExchangeDeleteAsync(name, ifUnused: false);
        }
    }
}
