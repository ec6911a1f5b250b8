namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>retryable</c>: fails while its retry attempt is below <see cref="FailTimes"/>.</summary>
public sealed record Retryable
{
    /// <summary>How many attempts fail. Defaults to 0.</summary>
    public int FailTimes { get; init; }
}
