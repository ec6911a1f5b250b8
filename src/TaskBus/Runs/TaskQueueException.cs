namespace TaskBus.Runs;

/// <summary>
/// A run could not be put in its worker group's queue: the broker could not be reached, refused the message, or
/// had no queue to route it to; the run ends <c>failure</c> with this message, nothing was queued. Or the broker did
/// not confirm it in time (<see cref="NotConfirmed"/>): a message the broker never confirmed may still reach the
/// queue (once a memory alarm clears), so the run is left <c>queued</c>, and if it runs later, it runs under its id.
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

    /// <summary>
    /// True when the broker did not confirm the run within <c>TaskBus:RabbitMQ:PublishTimeout</c>: it is not known
    /// whether it was queued; the run stays <c>queued</c> rather than <c>failure</c>.
    /// </summary>
    public bool NotConfirmed { get; init; }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TaskQueueException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
