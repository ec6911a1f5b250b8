using TaskBus.Contracts.Tasks;
using TaskBus.Execution;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Sleeps, then throws if asked to, or aborts if asked to.</summary>
[Task("dummy", Description = "Sleeps, then fails or aborts if asked to", MaxConcurrency = 1, TimeoutSeconds = 120, Tags = ["test", "slow"])]
public sealed class DummyTask(TaskRunContext context) : ITask<Dummy>
{
    public async Task ExecuteAsync(Dummy parameters, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(parameters.Sleep), cancellationToken);
        if (parameters.Error)
            throw new InvalidOperationException("dummy error");
        if (parameters.Abort)
            context.Abort("dummy aborted");
    }
}
