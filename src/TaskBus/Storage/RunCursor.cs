using System.Globalization;
using TaskBus.Contracts;

namespace TaskBus.Storage;

/// <summary>History order and paging shared by the stores: queued descending, then id descending.</summary>
internal static class RunCursor
{
    public static string Encode(TaskRunEvent run) =>
        string.Create(CultureInfo.InvariantCulture, $"{(run.Queued ?? DateTimeOffset.MinValue).UtcTicks}.{run.Id}");

    public static (long Ticks, string Id) Decode(string cursor)
    {
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && long.TryParse(cursor.AsSpan(0, dot), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks)
            ? (ticks, cursor[(dot + 1)..])
            : throw new ArgumentException($"'{cursor}' is not a history cursor.", nameof(cursor));
    }

    /// <summary>Rank of a state change: a stored run only moves forward (retries and re-queues start a new round).</summary>
    public static (int, int, int) Rank(TaskRunEvent run) => (run.RetryAttempt, run.RateLimitAttempt, run.State switch
    {
        TaskState.Init => 0,
        TaskState.Queued => 1,
        TaskState.Running => 2,
        _ => 3,
    });
}
