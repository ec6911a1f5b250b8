namespace TaskBus.Runs;

/// <summary>What the broker says of itself when a send is not confirmed, and for readiness.</summary>
internal interface IBrokerState
{
    /// <summary>
    /// Why the broker does not take messages now (blocked by a memory or disk alarm, unreachable), or null when it
    /// takes them as far as can be told.
    /// </summary>
    Task<string?> WhyNotTakingAsync(CancellationToken cancellationToken);
}
