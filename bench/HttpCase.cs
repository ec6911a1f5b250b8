using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Http;
using TaskBus.Worker.Tasks;

namespace TaskBus.Bench;

/// <summary>
/// <c>POST /tasks/noop</c> on Kestrel, driven by <see cref="Clients"/> concurrent HTTP clients, on a worker that
/// also runs the tasks (RabbitMQ, events on): requests per second while every run is queued, and their latency.
/// </summary>
internal static class HttpCase
{
    public const int Clients = 16;

    public static async Task<HttpMeasure> RunAsync(string url, int n, int concurrency, string? postgres)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddTaskBus(o =>
        {
            o.Transport = TaskBusTransport.RabbitMQ;
            o.RabbitMQ.Url = url;
            o.QueueName = "taskbus-bench-http";
            o.MaxConcurrentTasks = concurrency;
            o.ScheduleTasks = false;
            o.PublishEvents = true;
            if (postgres is not null)
            {
                o.Store.Provider = TaskStoreProvider.PostgreSQL;
                o.Store.ConnectionString = postgres;
            }
        }).AddTask<NoopTask>();
        builder.Services.AddTaskBusHttp();
        await using var app = builder.Build();
        app.MapTaskBus();
        var counter = new Counter();
        app.Services.GetRequiredService<TaskManager>().RegisterHandler("success.bench", _ => counter.Increment());
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients }) { BaseAddress = new Uri(address) };
        try
        {
            var warm = counter.Reset(Math.Min(n, 1000));
            await DriveAsync(http, Math.Min(n, 1000));
            await warm.WaitAsync(TimeSpan.FromMinutes(2));

            GC.Collect();
            var done = counter.Reset(n);
            var clock = Stopwatch.StartNew();
            var latencies = await DriveAsync(http, n);
            var queuedIn = clock.Elapsed;
            await done.WaitAsync(TimeSpan.FromMinutes(5));
            latencies.Sort();
            return new HttpMeasure(n / queuedIn.TotalSeconds, n / clock.Elapsed.TotalSeconds, latencies[latencies.Count / 2], latencies[(int)Math.Ceiling(latencies.Count * 0.99) - 1]);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static async Task<List<double>> DriveAsync(HttpClient http, int n)
    {
        var next = -1;
        var all = new List<double>[Clients];
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async c =>
        {
            var mine = all[c] = new List<double>(n / Clients + 1);
            while (Interlocked.Increment(ref next) < n)
            {
                var start = Stopwatch.GetTimestamp();
                using var content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                using var response = await http.PostAsync("/tasks/noop", content);
                response.EnsureSuccessStatusCode();
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }));
        return [.. all.SelectMany(l => l)];
    }
}

/// <summary>Requests/s while queuing, runs/s to the last success, and request latency in ms.</summary>
internal sealed record HttpMeasure(double RequestsPerSecond, double RunsPerSecond, double P50Ms, double P99Ms);
