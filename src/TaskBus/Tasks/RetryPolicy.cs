namespace TaskBus.Tasks;

/// <summary>When and how often a run is tried again (aio-fluid's <c>RetryPolicy</c>).</summary>
public sealed record RetryPolicy
{
    /// <summary>Retries after the first attempt; null means unlimited. Defaults to null.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>Wait before the first retry. Defaults to 1 s.</summary>
    public TimeSpan Wait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Factor applied to the wait for each further retry. Defaults to 1.</summary>
    public double Backoff { get; init; } = 1;

    /// <summary>Upper bound of the wait. Defaults to 60 s.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Exception types that are retried, subclasses included; empty means all.</summary>
    public IReadOnlyList<Type> Exceptions { get; init; } = [];

    /// <summary>The wait before retry number <paramref name="attempt"/> (1-based): min(wait·backoff^(n−1), maxWait).</summary>
    public TimeSpan Delay(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var seconds = Wait.TotalSeconds * Math.Pow(Backoff, attempt - 1);
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxWait.TotalSeconds));
    }

    /// <summary>True if retry number <paramref name="attempt"/> (1-based) is allowed.</summary>
    public bool CanRetry(int attempt) => MaxAttempts is not { } max || attempt <= max;

    /// <summary>True if a run that failed with <paramref name="exception"/> in round <paramref name="retryAttempt"/> gets another round.</summary>
    public bool Follows(Exception exception, int retryAttempt) => Matches(exception) && CanRetry(retryAttempt + 1);

    /// <summary>True if the exception is one this policy retries.</summary>
    public bool Matches(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Exceptions.Count == 0)
            return true;
        var type = exception.GetType();
        foreach (var candidate in Exceptions)
        {
            if (candidate.IsAssignableFrom(type))
                return true;
        }
        return false;
    }
}
