using TaskBus.Contracts;

namespace TaskBus.Runs;

/// <summary>Helpers for <see cref="TaskState"/> and <see cref="TaskPriority"/>.</summary>
public static class TaskStateExtensions
{
    /// <summary>True for the final states: success, failure, aborted, rate_limited, interrupted.</summary>
    public static bool IsFinished(this TaskState state) => state >= TaskState.Success;

    /// <summary>The wire name: <c>rate_limited</c>, <c>queued</c>, ...</summary>
    public static string ToWire(this TaskState state) => state switch
    {
        TaskState.Init => "init",
        TaskState.Queued => "queued",
        TaskState.Running => "running",
        TaskState.Success => "success",
        TaskState.Failure => "failure",
        TaskState.Aborted => "aborted",
        TaskState.RateLimited => "rate_limited",
        TaskState.Interrupted => "interrupted",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>The wire name: <c>high</c>, <c>medium</c>, <c>low</c>.</summary>
    public static string ToWire(this TaskPriority priority) => priority switch
    {
        TaskPriority.High => "high",
        TaskPriority.Medium => "medium",
        TaskPriority.Low => "low",
        _ => throw new ArgumentOutOfRangeException(nameof(priority), priority, null),
    };

    /// <summary>Parses a state's wire name; throws <see cref="ArgumentException"/> naming the valid ones.</summary>
    public static TaskState ParseState(string value) => TryParseState(value, out var state)
        ? state
        : throw new ArgumentException($"'{value}' is not a task state; expected one of init, queued, running, success, failure, aborted, rate_limited, interrupted.", nameof(value));

    /// <summary>Parses a state's wire name.</summary>
    public static bool TryParseState(string? value, out TaskState state) => TryParseWire(value, ToWire, out state);

    /// <summary>Parses a priority's wire name; throws <see cref="ArgumentException"/> naming the valid ones.</summary>
    public static TaskPriority ParsePriority(string value) => TryParsePriority(value, out var priority)
        ? priority
        : throw new ArgumentException($"'{value}' is not a priority; expected high, medium or low.", nameof(value));

    /// <summary>Parses a priority's wire name.</summary>
    public static bool TryParsePriority(string? value, out TaskPriority priority) => TryParseWire(value, ToWire, out priority);

    private static bool TryParseWire<T>(string? value, Func<T, string> toWire, out T result)
        where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(toWire(candidate), value, StringComparison.OrdinalIgnoreCase))
            {
                result = candidate;
                return true;
            }
        }
        result = default;
        return false;
    }
}
