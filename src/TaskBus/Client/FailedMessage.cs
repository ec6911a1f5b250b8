namespace TaskBus.Client;

/// <summary>
/// A run's message waiting in the worker group's error queue (<c>&lt;queue&gt;_error</c>): what could not be
/// processed, and why.
/// </summary>
/// <param name="RunId">The failed run's id (its message id, 32 hex digits); empty when the message has none.</param>
/// <param name="Task">The run's task, from its run header or its message type; <c>unknown</c> when neither tells.</param>
/// <param name="Reason">Why it failed, as the worker recorded it (exception type and message).</param>
/// <param name="FailedAt">When it was moved to the error queue, where the message says.</param>
/// <param name="MessageType">The message type it was sent as, where the body tells.</param>
public sealed record FailedMessage(string RunId, string Task, string Reason, DateTimeOffset? FailedAt, string? MessageType);

/// <summary>What became of one failed message asked to be queued again.</summary>
/// <param name="Failed">The failed message.</param>
/// <param name="NewRunId">The new run queued in its place (its <c>fromRunId</c> is the failed run); null when none was.</param>
/// <param name="Error">Why it was not queued again (it stays in the error queue); null when it was.</param>
public sealed record RequeueOutcome(FailedMessage Failed, string? NewRunId, string? Error);
