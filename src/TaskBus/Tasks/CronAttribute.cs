
namespace TaskBus.Tasks;

/// <summary>Schedules a task with a 5-field crontab, as aio-fluid's <c>crontab(...)</c>: <c>[Cron("0 8 * * 1-5")]</c>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CronAttribute(string expression) : Attribute
{
    /// <summary>minute hour day-of-month month day-of-week.</summary>
    public string Expression { get; } = expression;

    /// <summary>IANA or Windows time zone id the fields are read in. Defaults to UTC.</summary>
    public string? TimeZone { get; set; }

    /// <summary>Up to this many seconds of random delay before each run is queued. Defaults to 0.</summary>
    public double RandomizeSeconds { get; set; }

    /// <summary>Ticks missed while no scheduler ran. Defaults to <see cref="MisfirePolicy.Skip"/>.</summary>
    public MisfirePolicy Misfire { get; set; }

    /// <summary>A tick while the task's previous run is still queued or running. Defaults to <see cref="OverlapPolicy.AllowAll"/>.</summary>
    public OverlapPolicy Overlap { get; set; }

    internal CronSchedule ToSchedule() =>
        CronSchedule.Parse(Expression, TimeZone is null ? null : TimeZoneInfo.FindSystemTimeZoneById(TimeZone)) with
        {
            Randomize = TimeSpan.FromSeconds(RandomizeSeconds),
            Misfire = Misfire,
            Overlap = Overlap,
        };
}
