namespace TaskBus.Configuration;

/// <summary>Which message broker carries task messages and events.</summary>
public enum TaskBusTransport
{
    /// <summary>MassTransit's in-memory transport: one process, no broker, no priorities.</summary>
    InMemory,

    /// <summary>RabbitMQ: durable priority queue, any number of processes.</summary>
    RabbitMQ,
}
