namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>fast</c>: like <c>dummy</c> with a 2 s timeout.</summary>
public sealed record Fast
{
    /// <summary>Seconds to sleep. Defaults to 0.</summary>
    public double Sleep { get; init; }

    /// <summary>Throw after sleeping. Defaults to false.</summary>
    public bool Error { get; init; }
}
