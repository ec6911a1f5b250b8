namespace TaskBus.Client;

/// <summary>
/// The messages waiting in a worker group's queue (as <c>GET /tasks-status</c> and <c>status</c> show them): not those a worker
/// already took.
/// </summary>
/// <param name="Queue">The queue's name (<c>TaskBus:QueueName</c>).</param>
/// <param name="Length">Messages waiting, read live from the broker; null where the transport cannot tell.</param>
/// <param name="ByPriority">Messages waiting per priority; null where they cannot be read.</param>
/// <param name="Source">Where <paramref name="ByPriority"/> comes from, or why it is missing.</param>
public sealed record TaskQueueStatus(string Queue, long? Length, TaskPriorityCounts? ByPriority, string Source);

/// <summary>A count per task priority.</summary>
public sealed record TaskPriorityCounts(long High, long Medium, long Low);
