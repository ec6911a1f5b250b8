namespace TaskBus.Contracts;

/// <summary>
/// How far a running run has got, as its task reported it (at most one a second per run). Not a state change: the
/// run stays <c>running</c> and no <see cref="TaskRunEvent"/> is published for it; a service that shows progress
/// consumes these, and the store keeps the latest with the run (<see cref="TaskRunEvent.Progress"/>).
/// </summary>
public sealed record TaskRunProgress
{
    /// <summary>The run id (32 hex digits).</summary>
    public required string Id { get; init; }

    /// <summary>The task name.</summary>
    public required string Task { get; init; }

    /// <summary>How much is done, from 0 to 1.</summary>
    public double Fraction { get; init; }

    /// <summary>What the task says it is doing, or null.</summary>
    public string? Message { get; init; }

    /// <summary>When it was reported (UTC).</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The process running it, as <c>host-pid</c>.</summary>
    public string Worker { get; init; } = "";

    /// <summary>The worker group the run belongs to (<c>TaskBus:QueueName</c>), as on <see cref="TaskRunEvent.Queue"/>.</summary>
    public string Queue { get; init; } = "";
}
