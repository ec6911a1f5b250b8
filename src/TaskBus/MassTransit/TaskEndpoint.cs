using MassTransit;
using TaskBus.Configuration;
using TaskBus.Tasks;

namespace TaskBus.MassTransit;

/// <summary>The receive endpoint of the worker group's queue, on either transport.</summary>
internal static class TaskEndpoint
{
    /// <summary>
    /// Adds a consumer per task this process runs, with the group's prefetch and concurrency. Messages that cannot be
    /// processed go to the transport's error queue, or to TaskBus's own <paramref name="errorQueue"/> when given (the
    /// in-memory transport).
    /// </summary>
    public static void Configure(
        IReceiveEndpointConfigurator endpoint, TaskRegistry registry, TaskBusOptions options, Lazy<ConsumePath> path, TaskEndpointSwitch? pause = null,
        InMemoryErrorQueue? errorQueue = null, int extra = 0)
    {
        if (pause is not null)
            endpoint.ConnectReceiveEndpointObserver(pause);
        // Prefetch no more than we run: a message the broker has sent us is no longer re-ordered by priority. Where runs
        // wait for a slot by priority (several queues), more each, so every queue has a run waiting when a slot frees.
        endpoint.PrefetchCount = options.MaxConcurrentTasks + options.ExtraPrefetch + extra;
        endpoint.ConcurrentMessageLimit = options.MaxConcurrentTasks + extra;
        // Runs are sent to this queue's own exchange; binding the records' exchanges as well would give every
        // group on the vhost a copy of every plain publish.
        endpoint.ConfigureConsumeTopology = false;
        // A message no task takes is a poison message: error queue with the reason, not the _skipped queue.
        endpoint.ConfigureDeadLetter(x => x.UseFilter(new UnknownMessageFilter(errorQueue)));
        if (errorQueue is not null)
            endpoint.ConfigureError(x => x.UseFilter(errorQueue));
        foreach (var task in registry)
        {
            if (task.Invoker is not null)
                TaskMessages.For(task).ConfigureConsumer(endpoint, task, path);
        }
    }
}
