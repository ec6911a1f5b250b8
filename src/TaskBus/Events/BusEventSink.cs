using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Events;

/// <summary>
/// Publishes events through MassTransit, one by one in order (the in-memory transport): sent straight to the
/// <see cref="TaskRunEvent"/> exchange, where a publish would go, without the publish pipeline's per-message work.
/// </summary>
internal sealed class BusEventSink(IBus bus) : ITaskRunEventSink
{
    private ISendEndpoint? _endpoint;

    public async ValueTask SendAsync(IReadOnlyList<TaskRunEvent> events, CancellationToken cancellationToken)
    {
        var endpoint = _endpoint ??= await bus.GetPublishSendEndpoint<TaskRunEvent>();
        foreach (var evt in events)
            await endpoint.Send(evt, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
