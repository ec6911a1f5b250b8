namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>noop</c> (none): returns at once.</summary>
public sealed record Noop;
