namespace TaskBus.Events;

/// <summary>
/// Where this process's state changes are recorded durably, off the hot path: the shared store
/// (<see cref="Storage.TaskStoreWriter"/> on PostgreSQL). A consumer acknowledges a run's message only once its
/// final change was written, so a worker killed right after a run ended does not lose the run's record:
/// either it was written, or the message is delivered again. Events are notifications and are not waited for.
/// </summary>
internal interface IStateChangeOutlet
{
    /// <summary>Completes once every change made before the call was written (or given up on).</summary>
    Task WentOutAsync();
}
