using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Runs;

namespace TaskBus.Storage;

/// <summary>Reports this consuming worker to the store every second, so <c>/tasks-status</c> can list live workers.</summary>
internal sealed partial class WorkerHeartbeat(RunsInProgress running, ITaskStore store, StoreOutage outage, TimeProvider time, ILogger<WorkerHeartbeat> logger) : BackgroundService
{
    /// <summary>How often a worker reports.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>A worker silent for longer is not live (aio-fluid's 5 s TTL).</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            var mark = outage.Mark;
            try
            {
                await store.HeartbeatAsync(new WorkerStatus
                {
                    Id = ThisWorker.Name,
                    Host = Environment.MachineName,
                    RunningTasks = running.Count,
                    LastHeartbeat = time.GetUtcNow(),
                }, stoppingToken);
                outage.Reached();
            }
            catch (Exception ex) when (outage.IsOutage(ex))
            {
                // Said once for the whole outage; a heartbeat that gets through ends it for every run waiting.
                outage.Unreachable(ex, mark: mark);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogHeartbeatFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1504, Level = LogLevel.Warning, Message = "Heartbeat not stored")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception);
}
