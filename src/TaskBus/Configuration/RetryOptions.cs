using TaskBus.Tasks;

namespace TaskBus.Configuration;

/// <summary>
/// Changes a task's retry policy from configuration (<c>TaskBus:Retries:&lt;task&gt;</c>); each value left
/// out keeps the declared one (or <see cref="RetryPolicy"/>'s default when the task declares none).
/// </summary>
public sealed class RetryOptions
{
    /// <summary>Retries after the first attempt; negative means unlimited.</summary>
    public int? MaxAttempts { get; set; }

    /// <summary>Wait before the first retry.</summary>
    public TimeSpan? Wait { get; set; }

    /// <summary>Factor applied to the wait for each further retry.</summary>
    public double? Backoff { get; set; }

    /// <summary>Upper bound of the wait.</summary>
    public TimeSpan? MaxWait { get; set; }

    internal RetryPolicy ApplyTo(RetryPolicy? declared)
    {
        var policy = declared ?? new RetryPolicy();
        return policy with
        {
            MaxAttempts = MaxAttempts is { } max ? (max < 0 ? null : max) : policy.MaxAttempts,
            Wait = Wait ?? policy.Wait,
            Backoff = Backoff ?? policy.Backoff,
            MaxWait = MaxWait ?? policy.MaxWait,
        };
    }
}
