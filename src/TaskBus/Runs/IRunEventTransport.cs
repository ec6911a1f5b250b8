using TaskBus.Contracts;

namespace TaskBus.Runs;

/// <summary>Where <see cref="RunEventPublisher"/> sends events: the bus, or a cheaper channel to the same exchange.</summary>
internal interface IRunEventTransport : IAsyncDisposable
{
    /// <summary>Sends events in order; returns when they are handed to the transport.</summary>
    ValueTask SendAsync(IReadOnlyList<TaskRunEvent> events, CancellationToken cancellationToken);

    /// <summary>Sends a progress report, on the same channel, after the events sent before it.</summary>
    ValueTask SendProgressAsync(TaskRunProgress progress, CancellationToken cancellationToken);
}
