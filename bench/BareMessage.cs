namespace TaskBus.Bench;

/// <summary>The bare consumer's message: as small as <c>Noop</c>.</summary>
public sealed record BareMessage;
