using System.Globalization;
using TaskBus.Contracts;
using TaskBus.Runs;

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

    /// <summary>
    /// True when <paramref name="change"/> replaces <paramref name="stored"/>: it is not older, and the stored round has
    /// not ended yet. The first final state a round reaches is the one it keeps (an <c>aborted</c> is not overwritten
    /// by a late <c>success</c>), except <c>interrupted</c>: the run goes on from it, delivered again; a cancelled run
    /// keeps its <c>aborted</c> for good.
    /// </summary>
    public static bool Supersedes(TaskRunEvent change, TaskRunEvent stored)
    {
        // A cancelled run stays cancelled: what a worker that had it meanwhile does next (a retry, a re-queue) is not kept.
        if (stored.State == TaskState.Aborted && stored.Error?.StartsWith("cancelled", StringComparison.Ordinal) == true)
            return false;
        var (changeRound, storedRound) = (Rank(change), Rank(stored));
        if (changeRound.CompareTo(storedRound) < 0)
            return false;
        var sameRound = (changeRound.Item1, changeRound.Item2) == (storedRound.Item1, storedRound.Item2);
        return !(sameRound && stored.State.IsFinished() && stored.State != TaskState.Interrupted);
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
