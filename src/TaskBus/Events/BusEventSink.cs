using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Events;

/// <summary>Publishes events through MassTransit, one by one in order (the in-memory transport).</summary>
internal sealed class BusEventSink(IBus bus) : ITaskRunEventSink
{
    public async ValueTask SendAsync(IReadOnlyList<TaskRunEvent> events, CancellationToken cancellationToken)
    {
        foreach (var evt in events)
            await bus.Publish(evt, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
