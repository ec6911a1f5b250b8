namespace TaskBus.Tasks;

/// <summary>The parameters given for a task do not fit its parameters record.</summary>
public sealed class TaskParamsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskParamsException() : base("invalid params")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TaskParamsException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TaskParamsException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
