namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>dummy</c>: sleeps, then fails or aborts if asked.</summary>
public sealed record Dummy
{
    /// <summary>Seconds to sleep. Defaults to 0.1.</summary>
    public double Sleep { get; init; } = 0.1;

    /// <summary>Throw after sleeping. Defaults to false.</summary>
    public bool Error { get; init; }

    /// <summary>Abort after sleeping. Defaults to false.</summary>
    public bool Abort { get; init; }
}
