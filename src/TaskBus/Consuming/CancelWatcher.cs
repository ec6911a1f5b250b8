using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Execution;
using TaskBus.Storage;

namespace TaskBus.Consuming;

/// <summary>
/// Brings the cancels recorded in the store, by any process, to the runs executing in this one: every
/// <see cref="Interval"/> it reads the cancels recorded since its last read and stops the runs among them that run
/// here (a cancel of a run that starts a moment later is remembered, see <see cref="RunCancellations"/>). A run about
/// to start finds its cancel in the store itself (<see cref="RunStandings"/>).
/// </summary>
internal sealed partial class CancelWatcher(ITaskStore store, RunCancellations cancellations, TimeProvider time, ILogger<CancelWatcher> logger) : BackgroundService
{
    /// <summary>How often the store is asked for new cancels.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long? cursor = null;
        // Cancels already handed on, by when: the store answers the last seconds' again.
        var handled = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var (cancels, next) = await store.GetCancelsAsync(cursor, stoppingToken);
                cursor = next;
                var now = time.GetUtcNow();
                foreach (var cancel in cancels)
                {
                    if (!handled.TryAdd(cancel.RunId, now))
                        continue;
                    if (cancellations.Cancel(cancel.RunId, cancel.Reason))
                        LogStopping(logger, cancel.RunId, cancel.Reason);
                }
                if (handled.Count > 1000)
                {
                    foreach (var old in handled.Where(h => h.Value < now - TimeSpan.FromMinutes(1)).Select(h => h.Key).ToList())
                        handled.Remove(old);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The store is away or refused: the next tick asks again from the same cursor.
                LogReadFailed(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1605, Level = LogLevel.Information, Message = "Stopping run {RunId}: cancelled ({Reason})")]
    private static partial void LogStopping(ILogger logger, string runId, string reason);

    [LoggerMessage(EventId = 1606, Level = LogLevel.Debug, Message = "Reading cancels from the store failed: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string error);
}
