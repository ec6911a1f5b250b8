using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TaskBus.Serialization;

namespace TaskBus.CommandLine;

/// <summary>What TaskBus command lines share: exit code 2 with one clear line for bad input, host start-up, run output.</summary>
public static class CommandLineHost
{
    /// <summary>The exit code for bad configuration, arguments or params.</summary>
    public const int BadInput = 2;

    /// <summary>Prints <c>Error: {message}</c> on standard error and returns <see cref="BadInput"/>.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"Error: {message}");
        return BadInput;
    }

    /// <summary>Builds a host and checks its TaskBus options; on bad configuration prints the problem and returns null.</summary>
    public static IHost? TryBuild(Func<IHost> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        try
        {
            var host = build();
            _ = host.Services.GetRequiredService<IOptions<TaskBusOptions>>().Value;
            return host;
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
        {
            Fail(ex.Message);
            return null;
        }
    }

    /// <summary>Starts a host; returns null when it started, else prints why and returns <see cref="BadInput"/>.</summary>
    public static async Task<int?> TryStartAsync(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        try
        {
            await host.StartAsync();
            return null;
        }
        catch (Exception ex)
        {
            return Fail($"could not start: {ex.Message}");
        }
    }

    /// <summary>The run as one line of JSON, as the command lines print it.</summary>
    public static string ToJson(TaskRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return JsonSerializer.Serialize(run.ToEvent(TaskManager.WorkerName), TaskBusJson.Options);
    }
}
