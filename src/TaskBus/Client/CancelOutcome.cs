using TaskBus.Contracts;

namespace TaskBus.Client;

/// <summary>What a cancel found and did.</summary>
public enum CancelResult
{
    /// <summary>The run was queued (or waiting to be delivered again): it ended <c>aborted</c> now and never starts.</summary>
    Cancelled,

    /// <summary>The run was running: the worker that runs it, in this process or another, stops it, and it ends <c>aborted</c>.</summary>
    Stopping,

    /// <summary>The run had ended already; nothing changed.</summary>
    Ended,

    /// <summary>No run with this id is known.</summary>
    NotFound,
}

/// <summary>The outcome of <see cref="TaskManager.CancelAsync"/>: the run as it stands (null when not found).</summary>
/// <param name="RunId">The run id, 32 hex digits.</param>
/// <param name="Result">What the cancel found and did.</param>
/// <param name="Run">The run after the cancel: <c>aborted</c> when cancelled, <c>running</c> while stopping, its final state when it had ended.</param>
public sealed record CancelOutcome(string RunId, CancelResult Result, TaskRunEvent? Run);
