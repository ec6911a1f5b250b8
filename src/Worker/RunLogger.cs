using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.Worker;

/// <summary>Logs every state change of every run this worker makes.</summary>
internal sealed partial class RunLogger(TaskManager manager, ILogger<RunLogger> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var state in Enum.GetValues<TaskState>())
            manager.RegisterHandler(state.ToWire() + ".log", Log);
        return Task.CompletedTask;
    }

    /// <summary>Logged once the bus is connected and the task queue bound: the worker takes work from here on.</summary>
    public void Started()
    {
        var options = manager.Options;
        LogStarted(logger, TaskManager.WorkerName, manager.Type, options.Transport, options.QueueName, options.MaxConcurrentTasks);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Log(TaskRun run)
    {
        var state = run.State.ToWire();
        if (run.State is TaskState.Failure or TaskState.Interrupted)
            LogProblem(logger, run.Task, run.Id, state, run.Error);
        else if (run.IsDone)
            LogFinished(logger, run.Task, run.Id, state, run.DurationMs);
        else
            LogState(logger, run.Task, run.Id, state);
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Worker {Worker} started as {Type} on {Transport}, queue {Queue}, {MaxConcurrentTasks} tasks at once")]
    private static partial void LogStarted(ILogger logger, string worker, string type, TaskBusTransport transport, string queue, int maxConcurrentTasks);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "{Task}.{RunId} {State}")]
    private static partial void LogState(ILogger logger, string task, string runId, string state);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "{Task}.{RunId} {State} in {DurationMs} ms")]
    private static partial void LogFinished(ILogger logger, string task, string runId, string state, double? durationMs);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "{Task}.{RunId} {State}: {Error}")]
    private static partial void LogProblem(ILogger logger, string task, string runId, string state, string? error);
}
