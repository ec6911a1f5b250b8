namespace TaskBus;

/// <summary>RabbitMQ connection settings (<c>TaskBus:RabbitMQ</c>).</summary>
public sealed class RabbitMqOptions
{
    /// <summary>The broker address, vhost in the path. Defaults to <c>amqp://guest:guest@localhost:5672/</c>.</summary>
    public string Url { get; set; } = "amqp://guest:guest@localhost:5672/";
}
