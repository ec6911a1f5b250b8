using TaskBus.Contracts;

namespace TaskBus.Events;

/// <summary>Where <see cref="TaskRunEventPublisher"/> sends events: the bus, or a cheaper channel to the same exchange.</summary>
internal interface ITaskRunEventSink : IAsyncDisposable
{
    /// <summary>Sends events in order; returns when they are handed to the transport.</summary>
    ValueTask SendAsync(IReadOnlyList<TaskRunEvent> events, CancellationToken cancellationToken);
}
