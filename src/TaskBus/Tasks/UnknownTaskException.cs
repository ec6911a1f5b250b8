namespace TaskBus.Tasks;

/// <summary>No task of that name is registered.</summary>
public sealed class UnknownTaskException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UnknownTaskException() : base("unknown task")
    {
    }

    /// <summary>Creates the exception for a task name.</summary>
    public UnknownTaskException(string taskName) : base($"Task {taskName} not found") => TaskName = taskName;

    /// <summary>Creates the exception with a message and a cause.</summary>
    public UnknownTaskException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>The name that was not found.</summary>
    public string TaskName { get; } = "";
}
