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
    /// <summary>How often the pause is read (and, while pausing, whether the runs inside have finished).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>How long stopping or starting the receive endpoint may take before it is tried again at the next read.</summary>
    private static readonly TimeSpan SwitchTimeout = TimeSpan.FromSeconds(30);

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
            if (paused && !intake.IsClosed)
            {
                intake.Close();
                LogPausing(logger, group, intake.Inside);
            }
            // The runs past the intake finish first (read again at every tick: a resume meanwhile ends the pause);
            // then the endpoint stops, which hands back the runs held at the intake.
            if (paused && !stopped && intake.Inside == 0)
            {
                stopped = await SwitchAsync(stop: true, stoppingToken);
                if (stopped)
                    LogPaused(logger, group);
            }
            else if (!paused && (stopped || intake.IsClosed))
            {
                if (stopped)
                    stopped = !await SwitchAsync(stop: false, stoppingToken);
                if (!stopped)
                {
                    intake.Open();
                    LogResumed(logger, group);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Stops or starts the receive endpoint; false when it failed or took too long (the broker is away): tried again at the next read.</summary>
    private async Task<bool> SwitchAsync(bool stop, CancellationToken stoppingToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        bounded.CancelAfter(SwitchTimeout);
        try
        {
            if (stop)
                await endpoint.StopAsync(bounded.Token);
            else
                await endpoint.StartAsync(bounded.Token);
            return true;
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogSwitchFailed(logger, stop ? "stopped" : "started", ex.GetType().Name, ex.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 1615, Level = LogLevel.Warning, Message = "The receive endpoint could not be {Action} ({Error}: {Message}); trying again")]
    private static partial void LogSwitchFailed(ILogger logger, string action, string error, string message);

    [LoggerMessage(EventId = 1609, Level = LogLevel.Information, Message = "Group {Group} is paused: taking no new run; waiting for the {Running} running to finish")]
    private static partial void LogPausing(ILogger logger, string group, int running);

    [LoggerMessage(EventId = 1610, Level = LogLevel.Information, Message = "Paused: group {Group} takes no runs until resumed")]
    private static partial void LogPaused(ILogger logger, string group);

    [LoggerMessage(EventId = 1611, Level = LogLevel.Information, Message = "Resumed: group {Group} takes runs again")]
    private static partial void LogResumed(ILogger logger, string group);

    [LoggerMessage(EventId = 1612, Level = LogLevel.Debug, Message = "Reading the group's pause from the store failed: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string error);
}
