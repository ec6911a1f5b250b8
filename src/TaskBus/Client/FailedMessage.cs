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

/// <summary>What became of one run asked to be queued again: a failed message, or a run in the history.</summary>
/// <param name="Failed">The run asked for: the failed message, or, for a run of the history, its id, task, error (or state) and end.</param>
/// <param name="NewRunId">The new run queued in its place (its <c>fromRunId</c> is the failed run); null when none was.</param>
/// <param name="Error">Why it was not (or, in a dry run, would not be) queued again; a failed message stays in the error queue. Null when it was.</param>
public sealed record RequeueOutcome(FailedMessage Failed, string? NewRunId, string? Error);
