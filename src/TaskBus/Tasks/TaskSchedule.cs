namespace TaskBus.Tasks;

/// <summary>When a task is queued periodically.</summary>
internal abstract record TaskSchedule
{
    /// <summary>Ticks missed while no scheduler ran. Defaults to <see cref="MisfirePolicy.Skip"/>.</summary>
    public MisfirePolicy Misfire { get; init; }

    /// <summary>A tick while the previous run of the task is queued or running. Defaults to <see cref="OverlapPolicy.AllowAll"/>.</summary>
    public OverlapPolicy Overlap { get; init; }

    /// <summary>Up to this much random delay before each run is queued (aio-fluid's <c>randomize</c>). Defaults to none.</summary>
    public TimeSpan Randomize { get; init; }

    /// <summary>
    /// Reads a schedule written in configuration: an interval (<c>00:00:01</c>), a 5-field crontab, or
    /// <c>off</c> (null). Throws <see cref="ArgumentException"/> for anything else.
    /// </summary>
    public static TaskSchedule? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim();
        if (value.Equals("off", StringComparison.OrdinalIgnoreCase))
            return null;
        if (value.Contains(' ', StringComparison.Ordinal))
            return CronSchedule.Parse(value);
        return TimeSpan.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var interval) && interval > TimeSpan.Zero
            ? new EverySchedule(interval)
            : throw new ArgumentException($"'{text}' is not an interval (00:00:05), a 5-field crontab or off.", nameof(text));
    }

    /// <summary>The random delay before one run is queued, given a uniform draw in [0, 1).</summary>
    public TimeSpan DelayBeforeQueue(double draw) => Randomize * draw;

    /// <summary>The schedule in aio-fluid's text form, e.g. <c>every(0:00:02)</c>.</summary>
    public abstract override string ToString();
}
