using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskBus.Configuration;

namespace TaskBus.Storage;

/// <summary>
/// Prepares the store before anything else starts: creates or upgrades its tables, retrying with
/// one log line per attempt until <see cref="TaskBusOptions.StartTimeout"/>; a store that refuses this process for good
/// (a wrong password, no such database) fails the start at once.
/// </summary>
internal sealed partial class TaskStoreInitializer(ITaskStore store, IOptions<TaskBusOptions> options, TimeProvider time, ILogger<TaskStoreInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + options.Value.StartTimeout;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.InitializeAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !store.IsRefused(ex) && time.GetUtcNow() < deadline)
            {
                LogNotReady(logger, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), time, cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Store not ready (attempt {Attempt}): {Reason}")]
    private static partial void LogNotReady(ILogger logger, int attempt, string reason);
}
