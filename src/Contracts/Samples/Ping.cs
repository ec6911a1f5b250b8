namespace TaskBus.Contracts.Tasks;

/// <summary>Parameters of the sample task <c>ping</c> (none): logs "ping" every 2 s.</summary>
public sealed record Ping;
