namespace TaskBus;

/// <summary>
/// The run being executed, for a task that needs it (to abort, to read its attempt number).
/// Inject it into the task's constructor: it is scoped to the run.
/// </summary>
public sealed class TaskRunContext
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
}
