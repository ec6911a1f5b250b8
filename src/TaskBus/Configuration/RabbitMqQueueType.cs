namespace TaskBus.Configuration;

/// <summary>The kind of RabbitMQ queue a worker group's runs wait in (<c>TaskBus:RabbitMQ:QueueType</c>).</summary>
public enum RabbitMqQueueType
{
    /// <summary>A classic queue with three priorities (<c>x-max-priority</c> 2): on one node; gone while that node is.</summary>
    Classic,

    /// <summary>
    /// Quorum queues (RabbitMQ 3.10 or later), replicated: a queue per priority, taken high before medium before low by
    /// each worker. A majority of its nodes keeps it running.
    /// </summary>
    Quorum,
}
