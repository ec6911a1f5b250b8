namespace TaskBus.Tasks;

/// <summary>Schedules a task to be queued periodically, as aio-fluid's <c>every(delta, delay, jitter)</c>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class EveryAttribute(double seconds) : Attribute
{
    /// <summary>Seconds between runs; must be positive.</summary>
    public double Seconds { get; } = seconds;

    /// <summary>Seconds to wait before the first run. Defaults to 0.</summary>
    public double DelaySeconds { get; set; }

    /// <summary>Up to this many extra seconds, drawn anew for each run. Defaults to 0.</summary>
    public double JitterSeconds { get; set; }

    /// <summary>Ticks missed while no scheduler ran. Defaults to <see cref="MisfirePolicy.Skip"/>.</summary>
    public MisfirePolicy Misfire { get; set; }

    /// <summary>A tick while the task's previous run is still queued or running. Defaults to <see cref="OverlapPolicy.AllowAll"/>.</summary>
    public OverlapPolicy Overlap { get; set; }

    internal EverySchedule ToSchedule() =>
        new(TimeSpan.FromSeconds(Seconds), TimeSpan.FromSeconds(DelaySeconds), TimeSpan.FromSeconds(JitterSeconds)) { Misfire = Misfire, Overlap = Overlap };
}
