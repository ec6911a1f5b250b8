using MassTransit;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.MassTransit;

/// <summary>The bus operations of one task's record, made generic once per record type (<see cref="TaskMessages"/>).</summary>
internal interface ITaskMessage
{
    /// <summary>MassTransit's message type URN of the record.</summary>
    string MessageType { get; }

    /// <summary>Sends a queued run's params to an endpoint, stamped with the run and its waiter, if any.</summary>
    Task SendAsync(ISendEndpoint endpoint, RunStamp stamp, TaskRun run, RunReply? reply, CancellationToken cancellationToken);

    /// <summary>Sends a queued run to <paramref name="address"/> as a request and waits for its final event.</summary>
    Task<TaskRunEvent> RequestAsync(IBus bus, Uri address, RunStamp stamp, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Adds the consumer of the task's record to a receive endpoint.</summary>
    void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, TaskDescriptor task, Lazy<ConsumePath> path);
}

/// <summary>The <see cref="ITaskMessage"/> of each record type.</summary>
internal static class TaskMessages
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, ITaskMessage> ByType = new();

    public static ITaskMessage For(TaskDescriptor task) =>
        ByType.GetOrAdd(task.ParamsType, static type => (ITaskMessage)Activator.CreateInstance(typeof(TaskMessage<>).MakeGenericType(type))!);
}
