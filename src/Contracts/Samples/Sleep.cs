namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>sleep</c>: awaits a delay (I/O-bound work).</summary>
public sealed record Sleep
{
    /// <summary>Milliseconds to wait. Defaults to 10.</summary>
    public int Ms { get; init; } = 10;
}
