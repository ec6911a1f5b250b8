namespace TaskBus.Tasks;

/// <summary>Retry policy for runs that fail with an exception (aio-fluid's <c>retry</c>).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public class RetryAttribute : Attribute
{
    /// <summary>Retries after the first attempt; negative means unlimited. Defaults to -1.</summary>
    public int MaxAttempts { get; set; } = -1;

    /// <summary>Seconds before the first retry. Defaults to 1.</summary>
    public double WaitSeconds { get; set; } = 1;

    /// <summary>Factor applied to the wait for each further retry. Defaults to 1.</summary>
    public double Backoff { get; set; } = 1;

    /// <summary>Upper bound of the wait in seconds. Defaults to 60.</summary>
    public double MaxWaitSeconds { get; set; } = 60;

    /// <summary>Exception types that are retried (subclasses included); empty means all. Defaults to all.</summary>
    public Type[] Exceptions { get; set; } = [];

    internal RetryPolicy ToPolicy() => new()
    {
        MaxAttempts = MaxAttempts < 0 ? null : MaxAttempts,
        Wait = TimeSpan.FromSeconds(WaitSeconds),
        Backoff = Backoff,
        MaxWait = TimeSpan.FromSeconds(MaxWaitSeconds),
        Exceptions = Exceptions,
    };
}
