namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>spin</c>: keeps a CPU busy, ignoring cancellation (isolated, 2 s timeout).</summary>
public sealed record Spin
{
    /// <summary>Seconds to spin. Defaults to 10.</summary>
    public double Seconds { get; init; } = 10;
}
