using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;

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

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "{Task}.{RunId} {State}")]
    private static partial void LogState(ILogger logger, string task, string runId, string state);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "{Task}.{RunId} {State} in {DurationMs} ms")]
    private static partial void LogFinished(ILogger logger, string task, string runId, string state, double? durationMs);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "{Task}.{RunId} {State}: {Error}")]
    private static partial void LogProblem(ILogger logger, string task, string runId, string state, string? error);
}
