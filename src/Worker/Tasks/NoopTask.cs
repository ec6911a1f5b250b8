using TaskBus.Contracts.Tasks;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Returns at once (for benchmarks).</summary>
[Task("noop", Description = "Returns at once")]
public sealed class NoopTask : ITask<Noop>
{
    public Task ExecuteAsync(Noop parameters, CancellationToken cancellationToken) => Task.CompletedTask;
}
