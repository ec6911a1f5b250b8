using MassTransit;
using MassTransit.RabbitMqTransport.Topology;
using TaskBus.Configuration;
using TaskBus.Consuming;
using TaskBus.MassTransit;
using TaskBus.Tasks;

namespace TaskBus.RabbitMq;

/// <summary>MassTransit on RabbitMQ, as TaskBus uses it.</summary>
internal static class RabbitMqBus
{
    /// <summary>
    /// The broker (every node of a cluster, the URL's first), the group's runs routed to its exchange (a plain publish of
    /// a task's record included), and, for a consuming process, a receive endpoint per queue of the group's layout, all
    /// failing to the group's one error queue; where there are several, the worker's slots go by priority.
    /// </summary>
    public static void Configure(
        IRabbitMqBusFactoryConfigurator configurator, TaskBusOptions options, RabbitMqLayout layout, TaskRegistry registry, Lazy<ConsumePath> path,
        TaskEndpointSwitch? pause = null, PrioritySlots? slots = null)
    {
        var url = new Uri(options.RabbitMQ.Url);
        var nodes = Nodes(url, options.RabbitMQ);
        configurator.Host(url, h =>
        {
            if (nodes.Count > 1)
                h.UseCluster(c => nodes.ForEach(c.Node));
        });
        configurator.RouteTaskMessages(options.QueueName, registry.Select(t => t.ParamsType), layout);
        // Every queue of the group fails to one error queue, on the group's queue type.
        configurator.SendTopology.ErrorQueueNameFormatter = new GroupErrorQueue(layout, configurator.SendTopology.ErrorQueueNameFormatter);
        configurator.SendTopology.ConfigureErrorSettings = settings =>
        {
            if (settings is RabbitMqErrorSettings error && error.QueueName == layout.ErrorQueue)
            {
                var arguments = new Dictionary<string, object?>(error.QueueArguments);
                layout.ErrorArguments(arguments);
                foreach (var key in error.QueueArguments.Keys.Except(arguments.Keys).ToList())
                    error.SetQueueArgument(key, null!);
                foreach (var (key, value) in arguments)
                    error.SetQueueArgument(key, value!);
            }
        };
        if (!options.ConsumeTasks)
            return;
        var arguments = layout.QueueArguments();
        foreach (var queue in layout.Queues)
        {
            configurator.ReceiveEndpoint(queue.Name, endpoint =>
            {
                if (layout.Type == RabbitMqQueueType.Quorum)
                    endpoint.SetQuorumQueue(layout.ReplicationFactor);
                else
                    endpoint.EnablePriority(RunStamp.MaxPriority);
                foreach (var (key, value) in arguments)
                    endpoint.SetQueueArgument(key, value!);
                if (slots is not null)
                {
                    // Two runs more per queue than the worker runs: when a slot frees, each queue has one waiting for it, also
                    // when the run it goes to ends before the queue handed over the next.
                    endpoint.UseFilter(new PrioritySlotFilter(slots, queue.Priority));
                }
                TaskEndpoint.Configure(endpoint, registry, options, path, pause, extra: slots is null ? 0 : 2);
            });
        }
    }

    /// <summary>The cluster's nodes, the URL's node first (it is where this process connects while it answers).</summary>
    public static List<string> Nodes(Uri url, RabbitMqOptions options)
    {
        var port = url.IsDefaultPort || url.Port <= 0 ? (url.Scheme == "amqps" ? 5671 : 5672) : url.Port;
        var first = $"{url.Host}:{port}";
        var nodes = new List<string> { first };
        foreach (var node in options.NodeList())
        {
            var withPort = node.Contains(':', StringComparison.Ordinal) ? node : $"{node}:{port}";
            if (!nodes.Contains(withPort, StringComparer.OrdinalIgnoreCase))
                nodes.Add(withPort);
        }
        return nodes;
    }

    /// <summary>
    /// What a run's message needs on RabbitMQ: it is mandatory (one the broker routes to no queue fails the send instead
    /// of vanishing), and on quorum queues it carries its priority in a header, for the group's exchange to route it by.
    /// </summary>
    public static Action<SendContext, Runs.TaskRun> Stamp(RabbitMqLayout layout) => layout.Type == RabbitMqQueueType.Quorum
        ? static (context, run) =>
        {
            Mandatory(context);
            context.Headers.Set(RabbitMqLayout.PriorityHeader, RabbitMqLayout.HeaderValue(run.Priority));
        }
        : static (context, _) => Mandatory(context);

    private static void Mandatory(SendContext context)
    {
        if (context is RabbitMqSendContext rabbit)
            rabbit.Mandatory = true;
    }

    private sealed class GroupErrorQueue(RabbitMqLayout layout, IErrorQueueNameFormatter other) : IErrorQueueNameFormatter
    {
        public string FormatErrorQueueName(string queueName) => layout.Names.Contains(queueName) ? layout.ErrorQueue : other.FormatErrorQueueName(queueName);
    }
}
