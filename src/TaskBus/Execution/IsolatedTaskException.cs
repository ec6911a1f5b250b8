namespace TaskBus.Execution;

/// <summary>An isolated run failed in its child process; the message is the child's own error.</summary>
internal sealed class IsolatedTaskException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IsolatedTaskException() : base("isolated task failed")
    {
    }

    /// <summary>Creates the exception with the child's error.</summary>
    public IsolatedTaskException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public IsolatedTaskException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
