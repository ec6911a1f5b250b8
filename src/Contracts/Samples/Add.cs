namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>add</c>: logs <c>a+b</c>.</summary>
public sealed record Add
{
    /// <summary>First operand (required).</summary>
    public required double A { get; init; }

    /// <summary>Second operand (required).</summary>
    public required double B { get; init; }
}
