using Microsoft.Extensions.Logging;
using TaskBus.Contracts.Tasks;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Logs a+b.</summary>
[Task("add", Description = "Logs a+b")]
public sealed partial class AddTask(ILogger<AddTask> logger) : ITask<Add>
{
    public Task ExecuteAsync(Add parameters, CancellationToken cancellationToken)
    {
        LogSum(logger, parameters.A, parameters.B, parameters.A + parameters.B);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "{A}+{B}={Sum}")]
    private static partial void LogSum(ILogger logger, double a, double b, double sum);
}
