using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Spectre.Console;
using TaskBus;
using TaskBus.Client;
using TaskBus.CommandLine;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Publisher;
using TaskBus.Runs;
using TaskBus.Serialization;
using TaskBus.Tasks;

string[] configArgs, commandArgs;
try
{
    (configArgs, commandArgs) = ConfigurationArguments.Split(args);
}
catch (ArgumentException ex)
{
    return CommandLineHost.Fail(TaskBus.Serialization.UserText.Of(ex));
}

var root = new RootCommand("TaskBus publisher: queue tasks, wait for them, watch their events.");

var taskArgument = new Argument<string>("task") { Description = "The task name." };
var paramsOption = new Option<string?>("--params") { Description = "Params as a JSON object." };
var paramOption = new Option<string[]>("--param") { Description = "One param as key=value; repeatable." };
var priorityOption = new Option<string?>("--priority") { Description = "high, medium or low; the task's own by default." };
var runIdOption = new Option<string?>("--run-id") { Description = "The run id (a GUID); a new one by default." };
var waitOption = new Option<bool>("--wait") { Description = "Wait for the run to finish and print its final state." };
var timeoutOption = new Option<double>("--timeout") { Description = "Seconds to wait with --wait.", DefaultValueFactory = _ => 60 };
var uniqueKeyOption = new Option<string?>("--unique-key") { Description = "While a run of the task with this key is queued or running, queue nothing and print that run (needs the PostgreSQL store)." };
var expiresOption = new Option<string?>("--expires") { Description = "A worker that receives the run later than this after queueing ends it aborted (30s, 5m, 2h)." };
var delayOption = new Option<string?>("--delay") { Description = "Send the run this long from now (30s, 5m, 2h); it waits in the store, queued (needs the PostgreSQL store)." };
var atOption = new Option<string?>("--at") { Description = "Send the run at this time (ISO 8601); as --delay." };
var queue = new Command("queue", "Publish one run of a task.")
{
    taskArgument, paramsOption, paramOption, priorityOption, runIdOption, waitOption, timeoutOption, uniqueKeyOption, expiresOption, delayOption, atOption,
};
queue.SetAction((result, ct) => QueueAsync(
    result.GetRequiredValue(taskArgument), result.GetValue(paramsOption), result.GetValue(paramOption) ?? [],
    result.GetValue(priorityOption), result.GetValue(runIdOption), result.GetValue(waitOption), result.GetValue(timeoutOption),
    result.GetValue(uniqueKeyOption), result.GetValue(expiresOption), result.GetValue(delayOption), result.GetValue(atOption), ct));
root.Subcommands.Add(queue);

var taskOption = new Option<string?>("--task") { Description = "Only events of this task." };
var jsonOption = new Option<bool>("--json") { Description = "Print each event as one JSON line." };
var allGroupsOption = new Option<bool>("--all-groups") { Description = "Events of every worker group on the broker, not only TaskBus:QueueName's." };
var watch = new Command("watch", "Print the TaskRunEvents of the worker group (TaskBus:QueueName) until stopped.") { taskOption, jsonOption, allGroupsOption };
watch.SetAction((result, ct) => WatchAsync(result.GetValue(taskOption), result.GetValue(jsonOption), result.GetValue(allGroupsOption)));
root.Subcommands.Add(watch);

var clearPriority = new Argument<string?>("priority") { Description = "high, medium or low; every priority when left out.", Arity = ArgumentArity.ZeroOrOne };
var clear = new Command("clear", "Remove the runs waiting in the worker group's queue (TaskBus:QueueName), all or one priority; each ends aborted.") { clearPriority };
clear.SetAction((result, ct) => QueueCommandAsync(async manager =>
{
    var text = result.GetValue(clearPriority);
    TaskPriority? priority = text is null ? null : TaskStateExtensions.ParsePriority(text);
    var removed = await manager.ClearQueueAsync(priority, ct);
    return JsonSerializer.Serialize(new { queue = manager.Options.QueueName, priority = priority?.ToWire(), removed }, TaskBusJson.Options);
}, result.GetValue(clearPriority)));
root.Subcommands.Add(clear);

var status = new Command("status", "Print the runs waiting in the worker group's queue (TaskBus:QueueName), in all and per priority, as JSON.");
status.SetAction((_, ct) => QueueCommandAsync(async manager =>
    JsonSerializer.Serialize(await manager.GetQueueStatusAsync(ct), TaskBusJson.Options), null));
root.Subcommands.Add(status);

var migrate = new Command("migrate-queues",
    "Move the worker group to the queue layout of these settings (TaskBus:RabbitMQ:QueueType, TaskBus:RabbitMQ:Shards): every run waiting in its "
    + "queues of another layout, and its error queue, is moved (priority kept) and the old queues deleted. Stop the group's old processes first.");
migrate.SetAction((_, ct) => QueueCommandAsync(async manager =>
    JsonSerializer.Serialize(await manager.MigrateQueuesAsync(ct), TaskBusJson.Options), null));
root.Subcommands.Add(migrate);

var limitOption = new Option<int>("--limit") { Description = "At most this many.", DefaultValueFactory = _ => 100 };
var errorIds = new Argument<string[]>("run-ids") { Description = "The failed runs' ids.", Arity = ArgumentArity.ZeroOrMore };
var allOption = new Option<bool>("--all") { Description = "Every message in the error queue." };
var errorsList = new Command("ls", "List the runs waiting in the error queue (<TaskBus:QueueName>_error), oldest first, as JSON; changes nothing.") { limitOption };
errorsList.SetAction((result, ct) => QueueCommandAsync(async manager =>
    JsonSerializer.Serialize(await manager.ListErrorsAsync(result.GetValue(limitOption), ct), TaskBusJson.Options), null));
var errorsRequeue = new Command("requeue", "Queue the named failed runs again (or --all): each a new run whose fromRunId is the failed one; exit 1 if any stays.") { errorIds, allOption };
errorsRequeue.SetAction((result, ct) => ErrorsCommandAsync(result.GetValue(errorIds), result.GetValue(allOption), async (manager, ids) =>
{
    var outcomes = await manager.RequeueErrorsAsync(ids, ct);
    return (JsonSerializer.Serialize(outcomes, TaskBusJson.Options), outcomes.Any(o => o.NewRunId is null) ? 1 : 0);
}));
var errorsDiscard = new Command("discard", "Delete the named messages from the error queue (or --all).") { errorIds, allOption };
errorsDiscard.SetAction((result, ct) => ErrorsCommandAsync(result.GetValue(errorIds), result.GetValue(allOption), async (manager, ids) =>
    (JsonSerializer.Serialize(await manager.DiscardErrorsAsync(ids, ct), TaskBusJson.Options), 0)));
root.Subcommands.Add(new Command("errors", "The runs that ended in the worker group's error queue: ls, requeue, discard.") { errorsList, errorsRequeue, errorsDiscard });

var cancelIds = new Argument<string[]>("run-ids") { Description = "The runs' ids.", Arity = ArgumentArity.OneOrMore };
var reasonOption = new Option<string?>("--reason") { Description = "Why; the run's error reads \"cancelled: <reason>\"." };
var cancel = new Command("cancel", "Cancel runs: a queued run ends aborted now and never starts; a running run is stopped by its worker. "
    + "Prints one JSON line per run; exit 1 if any had ended or is unknown. Needs the PostgreSQL store.") { cancelIds, reasonOption };
cancel.SetAction((result, ct) => CancelAsync(result.GetValue(cancelIds) ?? [], result.GetValue(reasonOption), ct));
root.Subcommands.Add(cancel);

foreach (var (name, paused) in new[] { ("pause", true), ("resume", false) })
{
    var command = new Command(name, paused
        ? "Pause the worker group (TaskBus:QueueName): its workers take no new run, the running ones finish; runs wait in the queue. Needs the PostgreSQL store."
        : "Resume the paused worker group: its workers take runs again. Needs the PostgreSQL store.");
    command.SetAction((_, ct) => QueueCommandAsync(async manager =>
    {
        if (paused)
            await manager.PauseAsync(ct);
        else
            await manager.ResumeAsync(ct);
        return JsonSerializer.Serialize(new { queue = manager.Options.QueueName, paused }, TaskBusJson.Options);
    }, null, needsSharedStore: name));
    root.Subcommands.Add(command);
}

var requeueId = new Argument<string?>("run-id") { Description = "One run that has ended; or leave it out and give filters.", Arity = ArgumentArity.ZeroOrOne };
var requeueTask = new Option<string?>("--task") { Description = "Only runs of this task." };
var requeueState = new Option<string?>("--state") { Description = "Only runs in this state (failure, aborted, …)." };
var requeueStart = new Option<string?>("--start") { Description = "Only runs queued at or after this time (ISO 8601)." };
var requeueEnd = new Option<string?>("--end") { Description = "Only runs queued before this time (ISO 8601)." };
var requeueLimit = new Option<int>("--limit") { Description = "At most this many runs, newest first.", DefaultValueFactory = _ => 100 };
var dryRunOption = new Option<bool>("--dry-run") { Description = "Queue nothing: say how many would be queued again." };
var requeue = new Command("requeue", "Queue runs that have ended again, one by id or all a filter matches: each a new run whose fromRunId is the old one. "
    + "Prints a JSON report; exit 1 if any was not queued again. Needs the PostgreSQL store.")
{
    requeueId, requeueTask, requeueState, requeueStart, requeueEnd, requeueLimit, dryRunOption,
};
requeue.SetAction((result, ct) => RequeueAsync(
    result.GetValue(requeueId), result.GetValue(requeueTask), result.GetValue(requeueState), result.GetValue(requeueStart), result.GetValue(requeueEnd),
    result.GetValue(requeueLimit), result.GetValue(dryRunOption), ct));
root.Subcommands.Add(requeue);

return await root.Parse(commandArgs).InvokeAsync();

async Task<int> RequeueAsync(string? id, string? task, string? state, string? start, string? end, int limit, bool dryRun, CancellationToken cancellationToken)
{
    RunFilter? filter = null;
    try
    {
        if (id is not null)
        {
            if ((task ?? state ?? start ?? end) is not null || dryRun)
                throw new ArgumentException("give a run id, or filters (--task, --state, --start, --end, --limit, --dry-run), not both");
            if (!Guid.TryParse(id, out _))
                throw new ArgumentException($"run id '{id}' is not a GUID");
        }
        else if ((task ?? state ?? start ?? end) is null)
        {
            throw new ArgumentException("give a run id, or at least one of --task, --state, --start, --end");
        }
        else
        {
            filter = new RunFilter
            {
                Task = task,
                State = state is null ? null : TaskStateExtensions.ParseState(state),
                From = start is null ? null : DateTimeOffset.Parse(start, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                To = end is null ? null : DateTimeOffset.Parse(end, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                Limit = limit is >= 1 and <= 100_000 ? limit : throw new ArgumentException($"--limit must be between 1 and 100000, not {limit}"),
            };
        }
    }
    catch (FormatException ex)
    {
        return CommandLineHost.Fail($"--start/--end: {TaskBus.Serialization.UserText.Of(ex)}");
    }
    catch (ArgumentException ex)
    {
        return CommandLineHost.Fail(TaskBus.Serialization.UserText.Of(ex));
    }
    var exitCode = 0;
    var hostExit = await QueueCommandAsync(async manager =>
    {
        if (filter is null)
        {
            var outcome = await manager.RequeueAsync(id!, cancellationToken);
            exitCode = outcome?.NewRunId is null ? 1 : 0;
            return outcome is null
                ? JsonSerializer.Serialize(new { runId = id, error = $"run {id} not found" }, TaskBusJson.Options)
                : JsonSerializer.Serialize(outcome, TaskBusJson.Options);
        }
        if (filter.Task is { } name)
            manager.Registry.Get(name);
        var outcomes = await manager.RequeueRunsAsync(filter, dryRun, cancellationToken);
        var requeued = dryRun ? outcomes.Count(o => o.Error is null) : outcomes.Count(o => o.NewRunId is not null);
        exitCode = requeued == outcomes.Count ? 0 : 1;
        return JsonSerializer.Serialize(new { dryRun, matched = outcomes.Count, requeued, outcomes }, TaskBusJson.Options);
    }, null, needsSharedStore: "requeue");
    return hostExit == 0 ? exitCode : hostExit;
}

// Cancels act on runs other processes hold: without the shared store there is nothing to act on.
async Task<int> CancelAsync(string[] ids, string? reason, CancellationToken cancellationToken)
{
    if (ids.FirstOrDefault(id => !Guid.TryParse(id, out _)) is { } notAnId)
        return CommandLineHost.Fail($"run id '{notAnId}' is not a GUID");
    var exitCode = 0;
    var hostExit = await QueueCommandAsync(async manager =>
    {
        var lines = new List<string>(ids.Length);
        foreach (var id in ids)
        {
            var outcome = await manager.CancelAsync(id, reason, cancellationToken);
            if (outcome.Result is CancelResult.Ended or CancelResult.NotFound)
                exitCode = 1;
            lines.Add(JsonSerializer.Serialize(new { runId = outcome.RunId, result = ResultName(outcome.Result), run = outcome.Run }, TaskBusJson.Options));
        }
        return string.Join(Environment.NewLine, lines);
    }, null, needsSharedStore: "cancel");
    return hostExit == 0 ? exitCode : hostExit;

    static string ResultName(CancelResult result) => result switch
    {
        CancelResult.Cancelled => "cancelled",
        CancelResult.Stopping => "stopping",
        CancelResult.Ended => "ended",
        _ => "not_found",
    };
}

// One line naming the setting when a command needs the store every process shares and this one has its own.
int? RefuseWithoutSharedStore(IHost host, string what)
{
    var options = host.Services.GetRequiredService<IOptions<TaskBusOptions>>().Value;
    if (options.Store.Provider == TaskStoreProvider.PostgreSQL)
        return null;
    return CommandLineHost.Fail($"TaskBus:Store:Provider: {what} needs the store the workers share (PostgreSQL); with the memory store this process knows no run of theirs. Set TaskBus:Store:Provider=PostgreSQL and TaskBus:Store:ConnectionString.");
}

// A command on the error queue: some runs by id, or --all (never all by leaving the ids out).
async Task<int> ErrorsCommandAsync(string[]? ids, bool all, Func<TaskManager, IReadOnlyCollection<string>?, Task<(string Output, int ExitCode)>> command)
{
    if ((ids is null || ids.Length == 0) == !all)
        return CommandLineHost.Fail("name the failed runs' ids, or --all (not both)");
    if (ids?.FirstOrDefault(id => !Guid.TryParse(id, out _)) is { } notAnId)
        return CommandLineHost.Fail($"run id '{notAnId}' is not a GUID");
    var exitCode = 0;
    var hostExit = await QueueCommandAsync(async manager =>
    {
        var (output, code) = await command(manager, all ? null : ids);
        exitCode = code;
        return output;
    }, null);
    return hostExit == 0 ? exitCode : hostExit;
}

// A command on the queue itself: one JSON line on success; a bad priority or an unusable broker is one error line, exit 2.
async Task<int> QueueCommandAsync(Func<TaskManager, Task<string>> command, string? priorityText, string? needsSharedStore = null)
{
    if (priorityText is not null && !TaskStateExtensions.TryParsePriority(priorityText, out _))
        return CommandLineHost.Fail($"priority '{priorityText}' is not high, medium or low");
    if (Build(null) is not { } host)
        return CommandLineHost.BadInput;
    await using (CommandLineHost.Releasing(host))
    {
        if (needsSharedStore is not null && RefuseWithoutSharedStore(host, needsSharedStore) is { } refused)
            return refused;
        if (await CommandLineHost.TryStartAsync(host) is { } failed)
            return failed;
        var manager = host.Services.GetRequiredService<TaskManager>();
        var exitCode = await CommandLineHost.RunAsync(host, async () =>
        {
            Console.WriteLine(await command(manager));
            return 0;
        });
        await CommandLineHost.StopAsync(host);
        return exitCode;
    }
}

async Task<int> QueueAsync(
    string taskName, string? json, string[] pairs, string? priorityText, string? runId, bool wait, double timeoutSeconds, string? uniqueKey, string? expiresText,
    string? delayText, string? atText, CancellationToken cancellationToken)
{
    // On a terminal, --wait shows each state of the run on stderr as it comes; stdout keeps the one JSON line.
    string? watched = null;
    var states = RunView.Console(Console.Error);
    Action<TaskBusBuilder>? showStates = wait && !Console.IsErrorRedirected && states.Profile.Capabilities.Interactive
        ? bus => bus.ConfigureBus((context, cfg) => cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), null, e =>
        {
            e.ConcurrentMessageLimit = 1;
            e.Handler<TaskRunEvent>(ctx =>
            {
                if (ctx.Message.Id == Volatile.Read(ref watched))
                {
                    states.Write(RunView.Line(ctx.Message));
                    states.WriteLine();
                }
                return Task.CompletedTask;
            });
        }))
        : null;
    if (Build(showStates) is not { } host)
        return CommandLineHost.BadInput;
    await using (CommandLineHost.Releasing(host))
    {
        var manager = host.Services.GetRequiredService<TaskManager>();
        TaskRun run;
        QueueOptions options;
        try
        {
            var task = manager.Registry.Get(taskName);
            var parameters = ParamsArguments.Build(task, json, ParamsArguments.ParsePairs(pairs));
            TaskPriority? priority = priorityText is null ? null : TaskStateExtensions.ParsePriority(priorityText);
            if (wait && timeoutSeconds <= 0)
                throw new ArgumentException($"--timeout must be positive, not {timeoutSeconds.ToString(CultureInfo.InvariantCulture)}");
            run = manager.CreateTaskRun(taskName, parameters, runId, priority);
            options = new QueueOptions
            {
                UniqueKey = uniqueKey is null ? null : uniqueKey.Length > 0 ? uniqueKey : throw new ArgumentException("--unique-key cannot be empty"),
                Expires = expiresText is null ? null : Durations.Parse(expiresText, "--expires"),
                Delay = delayText is null ? null : Durations.Parse(delayText, "--delay"),
                At = atText is null ? null
                    : DateTimeOffset.TryParse(atText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at
                    : throw new ArgumentException($"--at '{atText}' is not a time (ISO 8601, e.g. 2026-12-01T08:00:00Z)"),
            };
            if (options.Delay is not null && options.At is not null)
                throw new ArgumentException("give --delay or --at, not both");
            if (wait && (options.UniqueKey ?? options.Expires ?? options.Delay ?? (object?)options.At) is not null)
                throw new ArgumentException("--wait cannot be combined with --unique-key, --expires, --delay or --at");
            Volatile.Write(ref watched, run.Id);
        }
        catch (Exception ex) when (ex is UnknownTaskException or TaskParamsException or ArgumentException)
        {
            return CommandLineHost.Fail(TaskBus.Serialization.UserText.Of(ex));
        }
        if ((options.UniqueKey is not null || manager.Registry.Get(taskName).Unique) && RefuseWithoutSharedStore(host, "a unique run") is { } refused)
            return refused;
        if ((options.Delay ?? (object?)options.At) is not null && RefuseWithoutSharedStore(host, "a delayed run") is { } notHeld)
            return notHeld;
        if (await CommandLineHost.TryStartAsync(host) is { } failed)
            return failed;
        // The run is printed once the broker has it: a run that could not be queued is one error line, exit 2.
        var exitCode = await CommandLineHost.RunAsync(host, async () =>
        {
            try
            {
                if (!wait)
                {
                    run = await manager.QueueAsync(run, options, cancellationToken);
                    Console.WriteLine(CommandLineHost.ToJson(run));
                    return 0;
                }
                await manager.QueueAndWaitAsync(run, TimeSpan.FromSeconds(timeoutSeconds), cancellationToken);
                Console.WriteLine(CommandLineHost.ToJson(run));
                return run.State == TaskState.Success ? 0 : 1;
            }
            catch (TimeoutException ex)
            {
                Console.Error.WriteLine($"Error: {ex.Message}");
                Console.WriteLine(CommandLineHost.ToJson(run));
                return 3;
            }
        });
        await CommandLineHost.StopAsync(host);
        return exitCode;
    }
}

async Task<int> WatchAsync(string? taskFilter, bool asJson, bool allGroups)
{
    var events = Channel.CreateUnbounded<TaskRunEvent>(new UnboundedChannelOptions { SingleReader = true });
    // Every worker group publishes to the same exchange: a watcher keeps its own group's events unless told otherwise.
    string? group = null;
    var host = Build(bus => bus.ConfigureBus((context, cfg) =>
        // A temporary, auto-delete queue: a watcher that goes away leaves nothing bound behind.
        cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), null, e =>
        {
            // One at a time, so events print in the order they arrive.
            e.ConcurrentMessageLimit = 1;
            e.Handler<TaskRunEvent>(ctx =>
            {
                if ((taskFilter is null || ctx.Message.Task == taskFilter) && (allGroups || ctx.Message.Queue.Length == 0 || ctx.Message.Queue == group))
                    events.Writer.TryWrite(ctx.Message);
                return Task.CompletedTask;
            });
        })));
    if (host is null)
        return CommandLineHost.BadInput;
    group = host.Services.GetRequiredService<IOptions<TaskBusOptions>>().Value.QueueName;
    await using (CommandLineHost.Releasing(host))
    {
        if (await CommandLineHost.TryStartAsync(host) is { } failed)
            return failed;
        Console.Error.WriteLine(allGroups ? "Watching task run events of every worker group; Ctrl+C to stop." : $"Watching task run events of worker group {group}; Ctrl+C to stop.");
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var console = RunView.Console(Console.Out);
        try
        {
            if (!asJson && !Console.IsOutputRedirected && console.Profile.Capabilities.Interactive)
            {
                // A terminal: the latest runs as a table, each row updated in place.
                var table = new RunView.LiveTable();
                await console.Live(table.Render()).StartAsync(async live =>
                {
                    await foreach (var evt in events.Reader.ReadAllAsync(stopping))
                    {
                        table.Apply(evt);
                        live.UpdateTarget(table.Render());
                    }
                });
            }
            else
            {
                await foreach (var evt in events.Reader.ReadAllAsync(stopping))
                {
                    if (asJson)
                        Console.WriteLine(JsonSerializer.Serialize(evt, TaskBusJson.Options));
                    else
                    {
                        console.Write(RunView.Line(evt));
                        console.WriteLine();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        await host.WaitForShutdownAsync();
        return 0;
    }
}

IHost? Build(Action<TaskBusBuilder>? configure)
{
    var host = CommandLineHost.TryBuild(() => BuildHost(configure));
    if (host?.Services.GetRequiredService<IOptions<TaskBusOptions>>().Value.Transport == TaskBusTransport.InMemory)
    {
        host.Dispose();
        CommandLineHost.Fail("TaskBus:Transport: the publisher needs a broker (InMemory lives in one process, so no worker could ever take its runs); set TaskBus:Transport=RabbitMQ.");
        return null;
    }
    return host;
}

IHost BuildHost(Action<TaskBusBuilder>? configure)
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = configArgs,
        ContentRootPath = AppContext.BaseDirectory,
    });
    CommandLineHost.ConfigureLogging(builder);
    var taskBus = builder.AddTaskBus(o =>
    {
        o.ConsumeTasks = false;
        o.ScheduleTasks = false;
    }).AddTaskMessagesFromNamespace(typeof(Add).Assembly, typeof(Add).Namespace!);
    configure?.Invoke(taskBus);
    // A command line waits for the broker no longer than for its confirm: connecting is part of queueing.
    builder.Services.AddOptions<MassTransitHostOptions>().PostConfigure<IOptions<TaskBusOptions>>((o, bus) =>
    {
        if (bus.Value.Transport == TaskBusTransport.RabbitMQ && o.StartTimeout is { } start && start > bus.Value.RabbitMQ.PublishTimeout)
            o.StartTimeout = bus.Value.RabbitMQ.PublishTimeout;
    });
    return builder.Build();
}
