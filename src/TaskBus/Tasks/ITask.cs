namespace TaskBus.Tasks;

/// <summary>
/// A background task: one class, one async method taking the task's typed parameters record.
/// Options (name, priority, timeout, ...) are declared with <see cref="TaskAttribute"/> and its
/// companions on the class; dependencies come by constructor injection. The run being executed
/// is available through an injected <see cref="Execution.TaskRunContext"/>.
/// </summary>
/// <typeparam name="TParams">The parameters record; it is also the message type on the bus.</typeparam>
public interface ITask<in TParams>
    where TParams : class
{
    /// <summary>Runs the task. The token is cancelled at the task's timeout or at shutdown.</summary>
    Task ExecuteAsync(TParams parameters, CancellationToken cancellationToken);
}
