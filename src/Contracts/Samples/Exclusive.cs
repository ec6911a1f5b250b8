namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>exclusive</c>: sleeps, one run at a time.</summary>
public sealed record Exclusive
{
    /// <summary>Seconds to sleep. Defaults to 0.1.</summary>
    public double Sleep { get; init; } = 0.1;
}
