namespace TaskBus.Runs;

/// <summary>Queues a run created in <c>init</c>, as the client does; how a running task queues another (a child run).</summary>
internal interface IRunQueue
{
    /// <summary>Queues the run: <c>init</c>, <c>queued</c>, sent.</summary>
    /// <exception cref="TaskQueueException">The broker did not take the run; it ended <c>failure</c>.</exception>
    Task<TaskRun> QueueAsync(TaskRun run, CancellationToken cancellationToken);
}
