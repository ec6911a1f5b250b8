using Microsoft.Extensions.Hosting;

namespace TaskBus.Worker;

/// <summary>Builds the worker's host: configuration from appsettings, environment and command line; the sample tasks.</summary>
internal static class WorkerHost
{
    public static HostApplicationBuilder CreateBuilder(string[] configurationArgs, Action<TaskBusOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = configurationArgs,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.AddTaskBus(configure).AddTasksFromAssembly(typeof(WorkerHost).Assembly);
        return builder;
    }
}
