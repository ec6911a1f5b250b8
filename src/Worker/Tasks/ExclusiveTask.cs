using TaskBus.Contracts.Tasks;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Sleeps, one run at a time; a run over the limit is re-queued.</summary>
[Task("exclusive", Description = "Sleeps, one run at a time", MaxConcurrency = 1)]
[RateLimitRetry(MaxAttempts = 5, WaitSeconds = 0)]
public sealed class ExclusiveTask : ITask<Exclusive>
{
    public Task ExecuteAsync(Exclusive parameters, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromSeconds(parameters.Sleep), cancellationToken);
}
