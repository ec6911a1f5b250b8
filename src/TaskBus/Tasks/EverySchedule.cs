using System.Globalization;

namespace TaskBus.Tasks;

/// <summary>Queue a run every <see cref="Interval"/>, first after <see cref="Delay"/>, plus up to <see cref="Jitter"/>.</summary>
internal sealed record EverySchedule : TaskSchedule
{
    /// <summary>Creates the schedule; the interval must be positive, delay and jitter not negative.</summary>
    public EverySchedule(TimeSpan interval, TimeSpan delay = default, TimeSpan jitter = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(jitter, TimeSpan.Zero);
        Interval = interval;
        Delay = delay;
        Jitter = jitter;
        Randomize = jitter;
    }

    /// <summary>Time between runs.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Time before the first run.</summary>
    public TimeSpan Delay { get; }

    /// <summary>Largest random extra wait, drawn anew for each run (the schedule's <see cref="TaskSchedule.Randomize"/>).</summary>
    public TimeSpan Jitter { get; }

    /// <summary>The first tick of a scheduler started at <paramref name="started"/>: after the delay.</summary>
    public DateTimeOffset FirstFire(DateTimeOffset started) => started + Delay;

    /// <inheritdoc />
    public override string ToString() => $"every({FormatPython(Interval)})";

    // Python's str(timedelta): H:MM:SS[.ffffff], with "N day(s), " in front when over a day.
    private static string FormatPython(TimeSpan value)
    {
        var days = value.Days > 0 ? $"{value.Days} day{(value.Days == 1 ? "" : "s")}, " : "";
        var micros = value.Ticks / 10 % 1_000_000;
        var fraction = micros == 0 ? "" : "." + micros.ToString("D6", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture, $"{days}{value.Hours}:{value.Minutes:D2}:{value.Seconds:D2}{fraction}");
    }
}
