using TaskBus.Contracts.Tasks;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Like dummy with a 2 s timeout.</summary>
[Task("fast", Description = "Sleeps with a 2 s timeout, then fails if asked to", MaxConcurrency = 1, TimeoutSeconds = 2, Tags = ["test", "fast"])]
public sealed class FastTask : ITask<Fast>
{
    public async Task ExecuteAsync(Fast parameters, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(parameters.Sleep), cancellationToken);
        if (parameters.Error)
            throw new InvalidOperationException("fast error");
    }
}
