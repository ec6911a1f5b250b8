using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskBus.Configuration;

namespace TaskBus.Storage;

/// <summary>
/// Keeps the store bounded: every <see cref="TaskStoreOptions.PruneInterval"/> a consuming worker forgets tick claims,
/// cancels and silent workers older than <see cref="Retention"/>, and, when <see cref="TaskStoreOptions.Retention"/> is
/// set, deletes the runs that ended longer ago than it (failures after <see cref="TaskStoreOptions.FailureRetention"/>),
/// a batch at a time: each batch is one short statement that skips rows a writer holds, so run writes never wait
/// behind a prune. A claim only has to outlive the other copies of its tick, which are sent within seconds of it.
/// </summary>
internal sealed partial class TaskStorePruner(ITaskStore store, IOptions<TaskBusOptions> options, TimeProvider time, ILogger<TaskStorePruner> logger) : BackgroundService
{
    /// <summary>How long a tick claim, a cancel, and a worker that stopped reporting, are kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    private readonly TaskStoreOptions _options = options.Value.Store;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.PruneInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PruneOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPruneFailed(logger, ex);
            }
        }
    }

    /// <summary>One prune cycle; returns how many runs it deleted.</summary>
    public async Task<int> PruneOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await store.PruneAsync(now - Retention, cancellationToken);
        if (_options.Retention is not { } retention)
            return 0;
        var failures = _options.FailureRetention ?? retention;
        var deleted = 0;
        int batch;
        do
        {
            batch = await store.PruneRunsAsync(now - retention, now - failures, _options.PruneBatch, cancellationToken);
            deleted += batch;
        }
        while (batch == _options.PruneBatch);
        if (deleted > 0)
            LogPruned(logger, deleted, retention, failures);
        return deleted;
    }

    [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "Pruning the store failed; trying again at the next interval")]
    private static partial void LogPruneFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1509, Level = LogLevel.Information, Message = "Pruned {Count} runs from the history (kept: ended within {Retention}, failures within {FailureRetention})")]
    private static partial void LogPruned(ILogger logger, int count, TimeSpan retention, TimeSpan failureRetention);
}
