using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TaskBus.Storage;

/// <summary>
/// Keeps the store bounded: once a minute, a consuming worker forgets tick claims and silent workers older
/// than <see cref="Retention"/>. A claim only has to outlive the other copies of its tick, which are sent
/// within seconds of it.
/// </summary>
internal sealed partial class TaskStorePruner(ITaskStore store, TimeProvider time, ILogger<TaskStorePruner> logger) : BackgroundService
{
    /// <summary>How long a tick claim, and a worker that stopped reporting, are kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    /// <summary>How often the store is pruned.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await store.PruneAsync(time.GetUtcNow() - Retention, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPruneFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "Pruning the store failed; trying again in a minute")]
    private static partial void LogPruneFailed(ILogger logger, Exception exception);
}
