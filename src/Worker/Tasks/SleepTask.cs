using TaskBus.Contracts.Tasks;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Awaits a delay: I/O-bound work, for scale-out.</summary>
[Task("sleep", Description = "Awaits a delay of ms milliseconds")]
public sealed class SleepTask : ITask<Sleep>
{
    public Task ExecuteAsync(Sleep parameters, CancellationToken cancellationToken) =>
        Task.Delay(parameters.Ms, cancellationToken);
}
