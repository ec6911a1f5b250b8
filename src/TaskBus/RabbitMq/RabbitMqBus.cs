using MassTransit;
using TaskBus.Configuration;
using TaskBus.MassTransit;
using TaskBus.Tasks;

namespace TaskBus.RabbitMq;

/// <summary>MassTransit on RabbitMQ, as TaskBus uses it.</summary>
internal static class RabbitMqBus
{
    /// <summary>
    /// The broker, the group's runs routed to its queue (a plain publish of a task's record included), and, for a
    /// consuming process, the queue's receive endpoint with its three priorities.
    /// </summary>
    public static void Configure(
        IRabbitMqBusFactoryConfigurator configurator, TaskBusOptions options, TaskRegistry registry, Lazy<ConsumePath> path, TaskEndpointSwitch? pause = null)
    {
        configurator.Host(new Uri(options.RabbitMQ.Url));
        configurator.RouteTaskMessages(options.QueueName, registry.Select(t => t.ParamsType));
        if (options.ConsumeTasks)
        {
            configurator.ReceiveEndpoint(options.QueueName, endpoint =>
            {
                endpoint.EnablePriority(RunStamp.MaxPriority);
                TaskEndpoint.Configure(endpoint, registry, options, path, pause);
            });
        }
    }

    /// <summary>A run's message is mandatory: one the broker routes to no queue fails the send instead of vanishing.</summary>
    public static void Mandatory(SendContext context)
    {
        if (context is RabbitMqSendContext rabbit)
            rabbit.Mandatory = true;
    }
}
