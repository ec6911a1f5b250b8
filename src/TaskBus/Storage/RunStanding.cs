using TaskBus.Contracts;

namespace TaskBus.Storage;

/// <summary>
/// What the store says of a run a worker is about to start: the state stored for it (null: none yet), the retry round
/// that state belongs to, and the reason of a cancel recorded for it (null: none).
/// </summary>
internal readonly record struct RunStanding(TaskState? State, int RetryAttempt, string? CancelReason);

/// <summary>A cancel recorded in the store: its place in the order of cancels, the run, the reason.</summary>
internal readonly record struct RunCancel(long Seq, string RunId, string Reason);

/// <summary>How much history a store holds.</summary>
/// <param name="Runs">Runs stored; PostgreSQL's estimate (its statistics), exact for the memory store.</param>
/// <param name="Oldest">When the oldest stored run was queued, or null for none.</param>
internal sealed record HistorySize(long Runs, DateTimeOffset? Oldest);
