using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using TaskBus.CommandLine;
using TaskBus.Diagnostics;
using TaskBus.Http;

namespace TaskBus.Worker;

/// <summary>
/// Builds the worker's host: configuration from appsettings, environment and command line; the
/// sample tasks; and, for <c>serve</c> with <c>TaskBus:Http:Urls</c> set, the HTTP API on Kestrel.
/// </summary>
internal static class WorkerHost
{
    public static IHost Build(string[] configurationArgs, bool serveHttp, Action<TaskBusOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var urls = serveHttp ? HttpUrls(configurationArgs) : [];
        if (urls.Length == 0)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = configurationArgs, ContentRootPath = AppContext.BaseDirectory });
            CommandLineHost.ConfigureLogging(builder);
            builder.AddTaskBus(configure).AddTasksFromAssembly(typeof(WorkerHost).Assembly);
            AddOpenTelemetry(builder.Services);
            services?.Invoke(builder.Services);
            return builder.Build();
        }
        var web = WebApplication.CreateBuilder(new WebApplicationOptions { Args = configurationArgs, ContentRootPath = AppContext.BaseDirectory });
        web.WebHost.UseUrls(urls);
        CommandLineHost.ConfigureLogging(web);
        web.AddTaskBus(configure).AddTasksFromAssembly(typeof(WorkerHost).Assembly);
        web.Services.AddTaskBusHttp();
        AddOpenTelemetry(web.Services);
        services?.Invoke(web.Services);
        var app = web.Build();
        app.MapTaskBus();
        return app;
    }

    /// <summary>
    /// Traces and metrics of TaskBus (and MassTransit, which carries a run's trace from the queuing span), exported
    /// over OTLP when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; the exporter reads the other
    /// <c>OTEL_*</c> variables itself.
    /// </summary>
    private static void AddOpenTelemetry(IServiceCollection services)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
            return;
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("taskbus-worker"))
            .WithTracing(t => t.AddSource(TaskBusTelemetry.Name, "MassTransit").AddOtlpExporter())
            .WithMetrics(m => m.AddMeter(TaskBusTelemetry.Name).AddOtlpExporter());
    }

    // The host's own configuration, read early: it decides whether the host is a web host.
    private static string[] HttpUrls(string[] configurationArgs) =>
        (new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(configurationArgs)
            .Build()["TaskBus:Http:Urls"] ?? "")
        .Split([';', ',', ' '], StringSplitOptions.RemoveEmptyEntries);
}
