namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>locked</c>: holds a lock shared by every worker for a while.</summary>
public sealed record Locked
{
    /// <summary>The lock's name (the lock is <c>tasks:locked:{name}</c>). Defaults to <c>shared</c>.</summary>
    public string Name { get; init; } = "shared";

    /// <summary>Milliseconds to hold it. Defaults to 100.</summary>
    public int Ms { get; init; } = 100;

    /// <summary>Seconds to wait for the lock before the run fails. Defaults to 30.</summary>
    public double LockTimeout { get; init; } = 30;

    /// <summary>Throw while holding the lock (it is released all the same). Defaults to false.</summary>
    public bool Error { get; init; }
}
