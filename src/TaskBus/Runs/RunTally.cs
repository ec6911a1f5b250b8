namespace TaskBus.Runs;

/// <summary>Counts of what happened to runs that were never queued, since the process started, for the metrics.</summary>
internal sealed class RunTally
{
    private long _deduplicated;
    private long _skipped;

    /// <summary>Runs not queued because a run of the same task and unique key was queued or running.</summary>
    public long Deduplicated => Interlocked.Read(ref _deduplicated);

    /// <summary>Ticks that queued nothing because the task's previous run was queued or running (overlap Skip).</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    public void CountDeduplicated(bool tick)
    {
        if (tick)
            Interlocked.Increment(ref _skipped);
        else
            Interlocked.Increment(ref _deduplicated);
    }
}
