using System.Globalization;
using TaskBus.Contracts;

namespace TaskBus.Runs;

/// <summary>
/// What a run's message carries beside its params, in one header, <c>TaskBus-Run</c>: the run id is the message
/// id and the priority the broker's message priority, the rest is
/// <c>{queued unix µs};{priority};{retryAttempt};{rateLimitAttempt};{fromRunId};{rootRunId};{scheduledFor unix ms};{task}</c>
/// (<c>scheduledFor</c> empty for a run the scheduler did not queue). A message without it is a plain
/// MassTransit publish of a task's record.
/// </summary>
internal readonly record struct RunHeader(
    DateTimeOffset Queued, TaskPriority Priority, int RetryAttempt, int RateLimitAttempt, string FromRunId, string RootRunId, DateTimeOffset? ScheduledFor, string Task)
{
    /// <summary>The header's name.</summary>
    public const string Name = "TaskBus-Run";

    /// <summary>The header of a run that expires: the time, in Unix milliseconds. Left out for a run that never does.</summary>
    public const string ExpiresName = "TaskBus-Expires";

    /// <summary>When the run expires (its own header, <see cref="ExpiresName"/>), or null.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The header of a delayed run: when it was due, in Unix milliseconds. Left out for a run sent at once.</summary>
    public const string DueName = "TaskBus-Due";

    /// <summary>When a delayed run was due (its own header, <see cref="DueName"/>), or null.</summary>
    public DateTimeOffset? Due { get; init; }

    /// <summary>The value of the <see cref="ExpiresName"/> header of a run, or null for a run that never expires.</summary>
    public static string? FormatExpires(TaskRun run) =>
        run.ExpiresAt is { } at ? at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) : null;

    /// <summary>The value of the <see cref="DueName"/> header of a run, or null for a run sent at once.</summary>
    public static string? FormatDue(TaskRun run) =>
        run.Due is { } at ? at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) : null;

    /// <summary>Reads an <see cref="ExpiresName"/> or <see cref="DueName"/> header's value (Unix milliseconds); null for none or one that does not read.</summary>
    public static DateTimeOffset? ParseExpires(string? text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    // 1973 in microseconds is the year 5138 in milliseconds: no timestamp is ambiguous.
    private const long MicrosecondsSince1973 = 100_000_000_000_000;

    /// <summary>The header of a queued run.</summary>
    public static string Format(TaskRun run) => string.Create(CultureInfo.InvariantCulture,
        $"{(run.Queued!.Value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond};{run.Priority.ToWire()};{run.RetryAttempt};{run.RateLimitAttempt};{run.FromRunId};{run.RootRunId};{run.ScheduledFor?.ToUnixTimeMilliseconds()};{run.Task}");

    /// <summary>Reads a header's value; false for none or one that does not read.</summary>
    public static bool TryParse(string? text, out RunHeader header)
    {
        header = default;
        if (text is null)
            return false;
        var parts = text.Split(';', 8);
        if (parts.Length != 8
            || !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var queued)
            || !TaskStateExtensions.TryParsePriority(parts[1], out var priority)
            || !int.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var retry)
            || !int.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var rateLimit))
        {
            return false;
        }
        DateTimeOffset? scheduledFor = long.TryParse(parts[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var tick)
            ? DateTimeOffset.FromUnixTimeMilliseconds(tick)
            : null;
        // Microseconds keep runs queued within one millisecond in order. Milliseconds are still read: a run queued by
        // a worker of an earlier version may wait in a queue through an upgrade.
        var queuedAt = queued > MicrosecondsSince1973
            ? DateTimeOffset.UnixEpoch.AddTicks(queued * TimeSpan.TicksPerMicrosecond)
            : DateTimeOffset.FromUnixTimeMilliseconds(queued);
        header = new RunHeader(queuedAt, priority, retry, rateLimit, parts[4], parts[5], scheduledFor, parts[7]);
        return true;
    }
}
