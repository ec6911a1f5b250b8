using MassTransit;
using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.MassTransit;

/// <summary>
/// Publishes events through MassTransit, one by one in order (the in-memory transport): sent straight to the
/// <see cref="TaskRunEvent"/> exchange, where a publish would go, without the publish pipeline's per-message work,
/// as raw JSON (<see cref="RawJsonBody"/>).
/// The bus is resolved at the first send: the bus is built after the sinks that publish on it.
/// </summary>
internal sealed class BusEventTransport(Lazy<IBus> bus) : IRunEventTransport
{
    private ISendEndpoint? _endpoint;
    private ISendEndpoint? _progress;

    public async ValueTask SendAsync(IReadOnlyList<TaskRunEvent> events, CancellationToken cancellationToken)
    {
        var endpoint = _endpoint ??= await bus.Value.GetPublishSendEndpoint<TaskRunEvent>();
        foreach (var evt in events)
            await endpoint.Send(evt, RawJsonBody.Pipe, cancellationToken);
    }

    public async ValueTask SendProgressAsync(TaskRunProgress progress, CancellationToken cancellationToken)
    {
        var endpoint = _progress ??= await bus.Value.GetPublishSendEndpoint<TaskRunProgress>();
        await endpoint.Send(progress, RawJsonBody.Pipe, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
