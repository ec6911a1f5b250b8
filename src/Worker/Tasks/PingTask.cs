using Microsoft.Extensions.Logging;
using TaskBus.Contracts.Tasks;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Logs "ping" every 2 s.</summary>
[Task("ping", Description = "Logs ping every 2 s", Tags = ["skip_db"])]
[Every(2)]
public sealed partial class PingTask(ILogger<PingTask> logger) : ITask<Ping>
{
    public Task ExecuteAsync(Ping parameters, CancellationToken cancellationToken)
    {
        LogPing(logger);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "ping")]
    private static partial void LogPing(ILogger logger);
}
