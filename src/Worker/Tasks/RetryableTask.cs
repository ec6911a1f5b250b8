using TaskBus.Contracts.Tasks;
using TaskBus.Execution;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Fails while the run's retry attempt is below failTimes.</summary>
[Task("retryable", Description = "Fails while its retry attempt is below failTimes")]
[Retry(MaxAttempts = 3, WaitSeconds = 0)]
public sealed class RetryableTask(TaskRunContext context) : ITask<Retryable>
{
    public Task ExecuteAsync(Retryable parameters, CancellationToken cancellationToken) =>
        context.Run.RetryAttempt < parameters.FailTimes
            ? throw new InvalidOperationException($"attempt {context.Run.RetryAttempt} fails (failTimes {parameters.FailTimes})")
            : Task.CompletedTask;
}
