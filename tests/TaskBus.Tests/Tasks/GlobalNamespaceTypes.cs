#pragma warning disable CA1050 // Declared outside any namespace on purpose: what a top-level program writes.

/// <summary>Params of a task declared in a top-level program, in no namespace.</summary>
public sealed record NoNamespaceParams
{
    public int Value { get; init; }
}
