namespace TaskBus.Runs;

/// <summary>A task run was asked for something its state does not allow, such as an invalid state transition (aio-fluid's <c>TaskRunError</c>).</summary>
public sealed class TaskRunException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskRunException() : base("invalid task run operation")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TaskRunException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TaskRunException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
