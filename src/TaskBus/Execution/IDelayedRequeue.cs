namespace TaskBus.Execution;

/// <summary>Sends a queued run back to the task queue after a delay that lives in the broker, not in this process.</summary>
internal interface IDelayedRequeue
{
    Task SendAsync(TaskDescriptor task, TaskRun run, TimeSpan delay, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken);
}
