using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TaskBus;
using TaskBus.Client;
using TaskBus.CommandLine;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Storage;
using TaskBus.Tasks;
using TaskBus.Worker;

string[] configArgs, commandArgs;
try
{
    (configArgs, commandArgs) = ConfigurationArguments.Split(args);
}
catch (ArgumentException ex)
{
    return CommandLineHost.Fail(TaskBus.Serialization.UserText.Of(ex));
}

var root = new RootCommand("TaskBus reference worker: consumes and schedules the sample tasks.");
var serve = new Command("serve", "Run until SIGINT/SIGTERM: consume tasks, schedule periodic ones (the default).");
serve.SetAction((_, ct) => ServeAsync());
root.Subcommands.Add(serve);
root.SetAction((_, ct) => ServeAsync());

var tagsOption = new Option<string[]>("--tags", "-t") { Description = "Only tasks with any of these tags." };
var lsJsonOption = new Option<bool>("--json") { Description = "Print the tasks as one JSON array." };
var ls = new Command("ls", "List the tasks.") { tagsOption, lsJsonOption };
ls.SetAction((result, ct) => ListCommandAsync(result.GetValue(tagsOption) ?? [], result.GetValue(lsJsonOption), ct));
root.Subcommands.Add(ls);

var enableTask = new Argument<string>("task") { Description = "The task name." };
var disableOption = new Option<bool>("--disable") { Description = "Disable instead of enable." };
var enable = new Command("enable", "Enable (or --disable) a task for every worker sharing the store.") { enableTask, disableOption };
enable.SetAction((result, ct) => EnableAsync(result.GetRequiredValue(enableTask), !result.GetValue(disableOption), ct));
root.Subcommands.Add(enable);

var taskArgument = new Argument<string>("task") { Description = "The task name." };
var paramsOption = new Option<string?>("--params") { Description = "Params as a JSON object." };
var runIdOption = new Option<string?>("--run-id") { Description = "The run id (a GUID); a new one by default." };
var exec = new Command("exec", "Run a task inline in this process and print the final run as JSON.") { taskArgument, paramsOption, runIdOption };
exec.TreatUnmatchedTokensAsErrors = false;
exec.SetAction((result, ct) => ExecAsync(result.GetRequiredValue(taskArgument), result.GetValue(paramsOption), result.GetValue(runIdOption), result.UnmatchedTokens, ct));
root.Subcommands.Add(exec);

return await root.Parse(commandArgs).InvokeAsync();

async Task<int> ServeAsync()
{
    var host = CommandLineHost.TryBuild(() => WorkerHost.Build(configArgs, serveHttp: true, services: services =>
    {
        services.AddSingleton<RunLogger>();
        services.AddHostedService(sp => sp.GetRequiredService<RunLogger>());
    }));
    if (host is null)
        return CommandLineHost.BadInput;
    if (await CommandLineHost.TryStartAsync(host) is { } failed)
        return failed;
    host.Services.GetRequiredService<RunLogger>().Started();
    await host.WaitForShutdownAsync();
    host.Dispose();
    return 0;
}

async Task<int> ListCommandAsync(string[] tags, bool json, CancellationToken cancellationToken)
{
    if (BuildOffline() is not { } host)
        return CommandLineHost.BadInput;
    using (host)
        return await CommandLineHost.RunAsync(host, async () =>
        {
            var registry = host.Services.GetRequiredService<TaskManager>().Registry;
            var store = host.Services.GetRequiredService<ITaskStore>();
            await store.InitializeAsync(cancellationToken);
            var tasks = registry.Where(t => tags.Length == 0 || tags.Any(t.Tags.Contains));
            await TaskTable.WriteAsync(TaskTable.StandardOutput(), tasks, store, json, cancellationToken);
            return 0;
        });
}

async Task<int> EnableAsync(string taskName, bool enabled, CancellationToken cancellationToken)
{
    if (BuildOffline() is not { } host)
        return CommandLineHost.BadInput;
    using (host)
    {
        if (!host.Services.GetRequiredService<TaskRegistry>().Contains(taskName))
        {
            Console.Error.WriteLine($"Error: Task {taskName} not found");
            return 1;
        }
        return await CommandLineHost.RunAsync(host, async () =>
        {
            var store = host.Services.GetRequiredService<ITaskStore>();
            await store.InitializeAsync(cancellationToken);
            await store.SetEnabledAsync(taskName, enabled, cancellationToken);
            Console.WriteLine($"Task {taskName} {(enabled ? "enabled" : "disabled")}");
            return 0;
        });
    }
}

async Task<int> ExecAsync(string taskName, string? json, string? runId, IReadOnlyList<string> fieldTokens, CancellationToken cancellationToken)
{
    if (BuildOffline() is not { } host)
        return CommandLineHost.BadInput;
    using (host)
    {
        var manager = host.Services.GetRequiredService<TaskManager>();
        TaskRun run;
        try
        {
            var task = manager.Registry.Get(taskName);
            var parameters = ParamsArguments.Build(task, json, ParamsArguments.ParseOptions(fieldTokens));
            run = manager.CreateTaskRun(taskName, parameters, runId);
        }
        catch (Exception ex) when (ex is UnknownTaskException or TaskParamsException or ArgumentException)
        {
            return CommandLineHost.Fail(TaskBus.Serialization.UserText.Of(ex));
        }
        try
        {
            await manager.ExecuteAsync(run, cancellationToken);
        }
        catch (Exception) when (run.IsDone)
        {
            // The run carries the failure; it is printed below.
        }
        Console.WriteLine(CommandLineHost.ToJson(run));
        return run.State is TaskState.Success or TaskState.Aborted ? 0 : 1;
    }
}

// A host for commands that neither consume nor schedule: nothing is started.
IHost? BuildOffline() => CommandLineHost.TryBuild(() => WorkerHost.Build(configArgs, serveHttp: false, o =>
{
    o.ConsumeTasks = false;
    o.ScheduleTasks = false;
    o.PublishEvents = false;
}));
