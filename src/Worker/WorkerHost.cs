using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TaskBus.CommandLine;
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
            services?.Invoke(builder.Services);
            return builder.Build();
        }
        var web = WebApplication.CreateBuilder(new WebApplicationOptions { Args = configurationArgs, ContentRootPath = AppContext.BaseDirectory });
        web.WebHost.UseUrls(urls);
        CommandLineHost.ConfigureLogging(web);
        web.AddTaskBus(configure).AddTasksFromAssembly(typeof(WorkerHost).Assembly);
        web.Services.AddTaskBusHttp();
        services?.Invoke(web.Services);
        var app = web.Build();
        app.MapTaskBus();
        return app;
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
