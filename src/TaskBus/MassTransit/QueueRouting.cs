using System.Collections.Frozen;
using MassTransit;

namespace TaskBus.MassTransit;

/// <summary>Publishes of task records go to the exchange named after the group's queue, which is bound to it.</summary>
internal static class QueueRouting
{
    /// <summary>Routes publishes of <paramref name="messageTypes"/> to the exchange (or in-memory exchange) of <paramref name="queueName"/>.</summary>
    public static FrozenSet<Type> RouteToQueueExchange(IBusFactoryConfigurator configurator, string queueName, IEnumerable<Type> messageTypes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        ArgumentNullException.ThrowIfNull(messageTypes);
        var types = messageTypes.ToFrozenSet();
        configurator.MessageTopology.SetEntityNameFormatter(new QueueEntityNames(queueName, types, configurator.MessageTopology.EntityNameFormatter));
        return types;
    }

    private sealed class QueueEntityNames(string queueName, FrozenSet<Type> types, IEntityNameFormatter other) : IEntityNameFormatter
    {
        public string FormatEntityName<T>() => types.Contains(typeof(T)) ? queueName : other.FormatEntityName<T>();
    }
}
