using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Storage;

namespace TaskBus.Consuming;

/// <summary>
/// Follows the pause of this worker's group in the store (set by any process): paused, the worker takes no new run
/// (a run delivered meanwhile waits), lets the runs running finish, then stops its receive endpoint, so every run
/// it held goes back to the queue and waits there; resumed, it takes runs again. Read every <see cref="Interval"/>.
/// </summary>
internal sealed partial class PauseWatcher(
    ITaskStore store, RunIntake intake, IRunIntakeSwitch endpoint, string group, TimeProvider time, ILogger<PauseWatcher> logger)
    : BackgroundService
{
    /// <summary>How often the pause is read.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stopped = false;
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            bool paused;
            try
            {
                paused = await store.IsPausedAsync(group, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The store is away: the worker goes on as it was.
                LogReadFailed(logger, ex.Message);
                continue;
            }
            if (paused && !stopped)
            {
                intake.Close();
                LogPausing(logger, group, intake.Inside);
                // The runs past the intake finish; only then is the endpoint stopped, which hands back the runs held at the intake.
                while (intake.Inside > 0)
                    await Task.Delay(DrainPoll, time, stoppingToken);
                await endpoint.StopAsync(stoppingToken);
                stopped = true;
                LogPaused(logger, group);
            }
            else if (!paused && (stopped || intake.IsClosed))
            {
                intake.Open();
                if (stopped)
                    await endpoint.StartAsync(stoppingToken);
                stopped = false;
                LogResumed(logger, group);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1609, Level = LogLevel.Information, Message = "Group {Group} is paused: taking no new run; waiting for the {Running} running to finish")]
    private static partial void LogPausing(ILogger logger, string group, int running);

    [LoggerMessage(EventId = 1610, Level = LogLevel.Information, Message = "Paused: group {Group} takes no runs until resumed")]
    private static partial void LogPaused(ILogger logger, string group);

    [LoggerMessage(EventId = 1611, Level = LogLevel.Information, Message = "Resumed: group {Group} takes runs again")]
    private static partial void LogResumed(ILogger logger, string group);

    [LoggerMessage(EventId = 1612, Level = LogLevel.Debug, Message = "Reading the group's pause from the store failed: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string error);
}
