using MassTransit;
using TaskBus.Tasks;

// A task's params record, before and after a change: one message type (the URN), two shapes.
namespace TaskBus.IntegrationTests.Versions.V1
{
    [MessageUrn("taskbus-it-scale")]
    public sealed record Scale
    {
        public int Factor { get; init; }
    }

    [Task("scale")]
    public sealed class ScaleTask : ITask<Scale>
    {
        public Task ExecuteAsync(Scale parameters, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

namespace TaskBus.IntegrationTests.Versions.V2
{
    [MessageUrn("taskbus-it-scale")]
    public sealed record Scale
    {
        public double Factor { get; init; }
    }

    [Task("scale")]
    public sealed class ScaleTask : ITask<Scale>
    {
        public Task ExecuteAsync(Scale parameters, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
