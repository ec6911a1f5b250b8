namespace TaskBus.Runs;

/// <summary>
/// A run could not be put in its worker group's queue: the broker could not be reached, did not confirm the
/// message, or had no queue to route it to. The run ends <c>failure</c> with this message; nothing was queued.
/// </summary>
public sealed class TaskQueueException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskQueueException() : base("the run could not be queued")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TaskQueueException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TaskQueueException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
