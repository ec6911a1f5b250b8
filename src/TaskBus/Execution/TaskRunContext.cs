using TaskBus.Contracts;

namespace TaskBus;

/// <summary>
/// The run being executed, for a task that needs it (to abort, to read its attempt number).
/// Inject it into the task's constructor: it is scoped to the run.
/// </summary>
public sealed class TaskRunContext(TaskManager manager)
{
    private TaskRun? _run;

    /// <summary>The current run.</summary>
    /// <exception cref="InvalidOperationException">Read outside a run.</exception>
    public TaskRun Run
    {
        get => _run ?? throw new InvalidOperationException("No task run is being executed in this scope.");
        internal set => _run = value;
    }

    /// <summary>Aborts the current run: it ends <c>aborted</c> with the reason and is never retried.</summary>
    public void Abort(string reason) => Run.Abort(reason);

    /// <summary>
    /// Queues a run of another task from this one (aio-fluid's <c>run.queue</c>): the child's
    /// <c>fromRunId</c> is this run, its <c>rootRunId</c> this run's root (or this run if it has none).
    /// </summary>
    public Task<TaskRun> QueueAsync(string task, object? parameters = null, TaskPriority? priority = null, CancellationToken cancellationToken = default)
    {
        var parent = Run;
        var child = manager.CreateTaskRun(task, parameters, priority: priority);
        child.FromRunId = parent.Id;
        child.RootRunId = parent.RootRunId.Length > 0 ? parent.RootRunId : parent.Id;
        return manager.QueueAsync(child, cancellationToken);
    }
}
