namespace TaskBus.Contracts;

/// <summary>
/// Marks a task parameter as secret (a password, a token): the task gets it intact, but events, the store, logs,
/// the HTTP API and the command lines show it as <c>"***"</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, Inherited = true)]
public sealed class SecretAttribute : Attribute;
