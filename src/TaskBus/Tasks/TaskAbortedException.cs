namespace TaskBus.Tasks;

/// <summary>Thrown by <see cref="Runs.TaskRun.Abort"/> or <see cref="Execution.TaskRunContext.Abort"/>: the run ends <c>aborted</c> with the reason and is never retried.</summary>
public sealed class TaskAbortedException : Exception
{
    /// <summary>Creates the exception with an empty reason.</summary>
    public TaskAbortedException() : this("aborted")
    {
    }

    /// <summary>Creates the exception with the abort reason.</summary>
    public TaskAbortedException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with the abort reason and a cause.</summary>
    public TaskAbortedException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
