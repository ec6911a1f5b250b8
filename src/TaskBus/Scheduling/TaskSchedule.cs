namespace TaskBus.Scheduling;

/// <summary>When a task is queued periodically.</summary>
public abstract record TaskSchedule
{
    /// <summary>Ticks missed while no scheduler ran. Defaults to <see cref="MisfirePolicy.Skip"/>.</summary>
    public MisfirePolicy Misfire { get; init; }

    /// <summary>Up to this much random delay before each run is queued (aio-fluid's <c>randomize</c>). Defaults to none.</summary>
    public TimeSpan Randomize { get; init; }

    /// <summary>The random delay before one run is queued, given a uniform draw in [0, 1).</summary>
    public TimeSpan DelayBeforeQueue(double draw) => Randomize * draw;

    /// <summary>The schedule in aio-fluid's text form, e.g. <c>every(0:00:02)</c>.</summary>
    public abstract override string ToString();
}
