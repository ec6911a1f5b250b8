using System.Collections.Frozen;
using MassTransit;
using TaskBus.Configuration;
using TaskBus.MassTransit;

namespace TaskBus.RabbitMq;

/// <summary>
/// Routes plain MassTransit publishes of task records (<c>Publish(new Add {...})</c>) to one worker group's queue.
/// </summary>
public static class TaskRoutingExtensions
{
    /// <summary>
    /// Routes every public record in the namespace of <typeparamref name="T"/> (a contracts namespace) to the
    /// worker group whose <c>TaskBus:QueueName</c> is <paramref name="queueName"/>. See
    /// <see cref="RouteTaskMessages(IRabbitMqBusFactoryConfigurator, string, IEnumerable{Type})"/>.
    /// </summary>
    public static IRabbitMqBusFactoryConfigurator RouteTaskMessages<T>(this IRabbitMqBusFactoryConfigurator configurator, string queueName = "taskbus-tasks")
        where T : class =>
        configurator.RouteTaskMessages(queueName, typeof(T).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == typeof(T).Namespace && t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false }));

    /// <summary>
    /// Routes publishes of these task records to the worker group whose <c>TaskBus:QueueName</c> is
    /// <paramref name="queueName"/>, as TaskBus itself queues them: they go to that queue's exchange instead of
    /// the record's own; the queue is declared as a worker declares it (durable, <c>x-max-priority</c> 2), so a
    /// publish before any worker ran waits in it; and the publish is mandatory, so one that reaches no queue
    /// fails with MassTransit's <c>MessageReturnedException</c> instead of vanishing. Call it before any other
    /// use of these types in the bus configuration.
    /// </summary>
    public static IRabbitMqBusFactoryConfigurator RouteTaskMessages(this IRabbitMqBusFactoryConfigurator configurator, string queueName, IEnumerable<Type> messageTypes) =>
        configurator.RouteTaskMessages(queueName, messageTypes, new RabbitMqLayout(queueName));

    /// <summary>
    /// Routes publishes of these task records to a worker group whose queues are of another layout than one classic
    /// queue (<c>TaskBus:RabbitMQ:QueueType</c>, <c>TaskBus:RabbitMQ:Shards</c>, given here as the group's workers have
    /// them). A publish goes to the group's exchange, which reaches exactly one of its queues (shard 1; on quorum queues
    /// the queue of the message's <c>TaskBus-Priority</c> header, low without one). Only a classic queue of one shard is
    /// declared here; for another layout the route exists once a worker or a TaskBus client of the group declared it, and
    /// a publish before that fails with MassTransit's <c>MessageReturnedException</c> (nothing routed it).
    /// </summary>
    public static IRabbitMqBusFactoryConfigurator RouteTaskMessages(
        this IRabbitMqBusFactoryConfigurator configurator, string queueName, IEnumerable<Type> messageTypes, RabbitMqQueueType queueType, int shards = 1) =>
        configurator.RouteTaskMessages(queueName, messageTypes, new RabbitMqLayout(queueName, queueType, shards));

    internal static IRabbitMqBusFactoryConfigurator RouteTaskMessages(this IRabbitMqBusFactoryConfigurator configurator, string queueName, IEnumerable<Type> messageTypes, RabbitMqLayout layout)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        var types = QueueRouting.RouteToQueueExchange(configurator, queueName, messageTypes);
        if (layout is { Type: RabbitMqQueueType.Classic, Shards: 1 })
        {
            foreach (var type in types)
            {
                configurator.Publish(type, p => p.BindQueue(queueName, queueName, q =>
                {
                    foreach (var (key, value) in layout.QueueArguments())
                        q.SetQueueArgument(key, value);
                }));
            }
        }
        configurator.ConnectPublishObserver(new MandatoryPublish(types));
        return configurator;
    }

    private sealed class MandatoryPublish(FrozenSet<Type> types) : IPublishObserver
    {
        public Task PrePublish<T>(PublishContext<T> context)
            where T : class
        {
            if (types.Contains(typeof(T)))
                context.Mandatory = true;
            return Task.CompletedTask;
        }

        public Task PostPublish<T>(PublishContext<T> context)
            where T : class => Task.CompletedTask;

        public Task PublishFault<T>(PublishContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}
