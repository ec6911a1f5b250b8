using System.Text.Json;

namespace TaskBus.Contracts;

/// <summary>
/// One state change of one task run. Published on the bus for every change, so any service can
/// subscribe; also sent to the caller that waits for a run.
/// </summary>
public sealed record TaskRunEvent
{
    /// <summary>The run id (32 hex digits).</summary>
    public required string Id { get; init; }

    /// <summary>The task name.</summary>
    public required string Task { get; init; }

    /// <summary>The state the run entered.</summary>
    public required TaskState State { get; init; }

    /// <summary>The run's priority.</summary>
    public TaskPriority Priority { get; init; } = TaskPriority.Medium;

    /// <summary>The run's parameters as JSON.</summary>
    public JsonElement? Params { get; init; }

    /// <summary>When the run was queued (UTC).</summary>
    public DateTimeOffset? Queued { get; init; }

    /// <summary>When the run started (UTC).</summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>When the run ended (UTC).</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>End minus start in milliseconds, two decimals; null until finished.</summary>
    public double? DurationMs { get; init; }

    /// <summary>The run that queued this one, or empty.</summary>
    public string FromRunId { get; init; } = "";

    /// <summary>The first run of the chain this one belongs to, or empty.</summary>
    public string RootRunId { get; init; } = "";

    /// <summary>How many times the run was retried after a failure.</summary>
    public int RetryAttempt { get; init; }

    /// <summary>How many times the run was re-queued because of its concurrency limit.</summary>
    public int RateLimitAttempt { get; init; }

    /// <summary>The exception type and message, or the abort reason; null otherwise.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// True when the broker delivered this run's message again because the worker that had it stopped or
    /// died before finishing it (delivery is at least once: such a run may have run before).
    /// </summary>
    public bool Redelivered { get; init; }

    /// <summary>The tick of the schedule a scheduled run belongs to (UTC); null for a run queued otherwise.</summary>
    public DateTimeOffset? ScheduledFor { get; init; }

    /// <summary>When a delayed run is due (UTC): it waits in the store until then, still <c>queued</c>; null for a run sent at once.</summary>
    public DateTimeOffset? Due { get; init; }

    /// <summary>The latest progress its task reported (0 to 1), or null for none (see <see cref="TaskRunProgress"/>).</summary>
    public double? Progress { get; init; }

    /// <summary>The message of the latest progress report, or null.</summary>
    public string? ProgressMessage { get; init; }

    /// <summary>The process that made the change, as <c>host-pid</c>.</summary>
    public string Worker { get; init; } = "";

    /// <summary>
    /// The worker group the run belongs to: the <c>TaskBus:QueueName</c> of the process that made the change. Every
    /// group publishes to the same exchange; a service that watches one group keeps the events whose queue is its own.
    /// Empty for a run read back from a store that did not keep it.
    /// </summary>
    public string Queue { get; init; } = "";

    /// <summary>
    /// True on a <c>failure</c> that ends one round only: the task's retry policy starts another round of the same run
    /// (same id, <see cref="RetryAttempt"/> + 1, told <c>init</c> and <c>queued</c> again). False on a final failure,
    /// and on every other state.
    /// </summary>
    public bool WillRetry { get; init; }
}
