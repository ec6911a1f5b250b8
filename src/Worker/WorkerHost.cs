using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using TaskBus.CommandLine;
using TaskBus.Configuration;
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
        // The web host's own configuration (appsettings, appsettings.{Environment}, environment, command line) holds
        // the TaskBus options, bound once here: TaskBus:Http:Urls decides whether this host serves HTTP, and the same
        // object is the options of the host that is built.
        var web = serveHttp ? WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = configurationArgs, ContentRootPath = AppContext.BaseDirectory }) : null;
        IHostApplicationBuilder builder = web is not null ? web : Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = configurationArgs, ContentRootPath = AppContext.BaseDirectory });
        var options = TaskBusOptions.Bind(builder.Configuration.GetSection(TaskBusOptions.SectionName), configure);
        var urls = options.Http.Urls.Split([';', ',', ' '], StringSplitOptions.RemoveEmptyEntries);
        // Without HTTP, a plain host in the same environment: the same appsettings files, so the same options.
        if (web is not null && urls.Length == 0)
        {
            builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                Args = configurationArgs,
                ContentRootPath = AppContext.BaseDirectory,
                EnvironmentName = web.Environment.EnvironmentName,
            });
        }
        CommandLineHost.ConfigureLogging(builder);
        builder.Services.AddTaskBus(options).AddTasksFromAssembly(typeof(WorkerHost).Assembly);
        AddOpenTelemetry(builder.Services);
        services?.Invoke(builder.Services);
        if (builder is not WebApplicationBuilder server)
            return ((HostApplicationBuilder)builder).Build();
        // The slim builder leaves out IIS, HTTP/3 and the rest a worker never uses (a few MiB of a worker's memory);
        // https:// URLs in TaskBus:Http:Urls still get Kestrel's certificate configuration.
        server.WebHost.UseKestrelHttpsConfiguration();
        // The slim builder forces the simple console formatter; Logging:Console (the compact one) decides again.
        server.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(server.Configuration.GetSection("Logging:Console"));
        server.WebHost.UseUrls(urls);
        server.Services.AddTaskBusHttp();
        var app = server.Build();
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
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
            AddOtlpExport(services);
    }

    // A method of its own: compiling it loads OpenTelemetry's assemblies, which a worker without OTLP never needs.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void AddOtlpExport(IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("taskbus-worker"))
            .WithTracing(t => t.AddSource(TaskBusTelemetry.Name, "MassTransit").AddOtlpExporter())
            .WithMetrics(m => m.AddMeter(TaskBusTelemetry.Name).AddOtlpExporter());
    }
}
