using System.Collections.Frozen;
using System.Globalization;
using Quartz;

namespace TaskBus.Tasks;

/// <summary>
/// A 5-field crontab (minute, hour, day of month, month, day of week) with aio-fluid's rules:
/// <c>*</c>, <c>n</c>, <c>m-n</c>, <c>*/n</c>, <c>m-n/s</c> and comma lists; day of week 0 and 7
/// are Sunday; a value out of range, or a step on day of week, is an <see cref="ArgumentException"/>.
/// Fires at most once per matching minute, in <see cref="TimeZone"/> (UTC by default). As in aio-fluid, a
/// minute matches when every field matches: restricting both day of month and day of week means days that are
/// both (<c>0 8 13 * 5</c>: 08:00 on Friday the 13th), not either as in Vixie cron.
/// </summary>
internal sealed record CronSchedule : TaskSchedule
{
    /// <summary>Parses each field; throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public CronSchedule(string minute = "*", string hour = "*", string dayOfMonth = "*", string monthOfYear = "*", string dayOfWeek = "*", TimeZoneInfo? timeZone = null)
    {
        Minute = minute;
        Hour = hour;
        DayOfMonth = dayOfMonth;
        MonthOfYear = monthOfYear;
        DayOfWeek = dayOfWeek;
        TimeZone = timeZone ?? TimeZoneInfo.Utc;
        Minutes = ParseField(minute, "minute", 0, 59, allowStep: true);
        Hours = ParseField(hour, "hour", 0, 23, allowStep: true);
        DaysOfMonth = ParseField(dayOfMonth, "day_of_month", 1, 31, allowStep: true);
        Months = ParseField(monthOfYear, "month_of_year", 1, 12, allowStep: true);
        DaysOfWeek = ParseField(dayOfWeek, "day_of_week", 0, 7, allowStep: false).Select(d => d % 7).ToFrozenSet();
        RestrictsBothDays = DayOfMonth.Trim() != "*" && DayOfWeek.Trim() != "*";
        Expression = new CronExpression(ToQuartzExpression(), TimeZone);
    }

    /// <summary>Parses <c>"minute hour day month weekday"</c>.</summary>
    public static CronSchedule Parse(string expression, TimeZoneInfo? timeZone = null)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
            throw new ArgumentException($"'{expression}' is not a 5-field crontab (minute hour day month weekday).", nameof(expression));
        return new CronSchedule(fields[0], fields[1], fields[2], fields[3], fields[4], timeZone);
    }

    /// <summary>The minute field as written.</summary>
    public string Minute { get; }

    /// <summary>The hour field as written.</summary>
    public string Hour { get; }

    /// <summary>The day-of-month field as written.</summary>
    public string DayOfMonth { get; }

    /// <summary>The month field as written.</summary>
    public string MonthOfYear { get; }

    /// <summary>The day-of-week field as written.</summary>
    public string DayOfWeek { get; }

    /// <summary>The time zone the fields are read in.</summary>
    public TimeZoneInfo TimeZone { get; }

    /// <summary>Matching minutes.</summary>
    public IReadOnlySet<int> Minutes { get; }

    /// <summary>Matching hours.</summary>
    public IReadOnlySet<int> Hours { get; }

    /// <summary>Matching days of month.</summary>
    public IReadOnlySet<int> DaysOfMonth { get; }

    /// <summary>Matching months.</summary>
    public IReadOnlySet<int> Months { get; }

    /// <summary>Matching days of week, 0 = Sunday.</summary>
    public IReadOnlySet<int> DaysOfWeek { get; }

    /// <summary>
    /// The Quartz expression of the trigger. Quartz cannot restrict both day fields, so when both are, it fires on
    /// the days of month and <see cref="FiresAt"/> drops the fires on other days of week.
    /// </summary>
    internal CronExpression Expression { get; }

    private bool RestrictsBothDays { get; }

    /// <summary>True when <paramref name="time"/>'s day, read in <see cref="TimeZone"/>, matches both day fields.</summary>
    public bool FiresAt(DateTimeOffset time) =>
        !RestrictsBothDays || DaysOfWeek.Contains((int)TimeZoneInfo.ConvertTime(time, TimeZone).DayOfWeek);

    /// <summary>The first fire time strictly after <paramref name="after"/>, or null if none.</summary>
    public DateTimeOffset? NextFireAfter(DateTimeOffset after)
    {
        var next = Expression.GetNextValidTimeAfter(after);
        while (next is { } time && !FiresAt(time))
            next = Expression.GetNextValidTimeAfter(time);
        return next;
    }

    /// <summary>
    /// The same schedule as a Quartz cron expression (seconds first, 1 = Sunday, <c>?</c> for the unrestricted day
    /// field; the days of month when both are restricted, see <see cref="FiresAt"/>).
    /// </summary>
    public string ToQuartzExpression()
    {
        var byWeekDay = DayOfWeek.Trim() != "*" && !RestrictsBothDays;
        var dayOfMonth = byWeekDay ? "?" : List(DaysOfMonth);
        var dayOfWeek = byWeekDay ? List(DaysOfWeek.Select(d => d + 1)) : "?";
        return $"0 {List(Minutes)} {List(Hours)} {dayOfMonth} {List(Months)} {dayOfWeek}";
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var fields = $"{Minute} {Hour} {DayOfMonth} {MonthOfYear} {DayOfWeek}";
        return TimeZone == TimeZoneInfo.Utc ? $"crontab({fields})" : $"crontab({fields}, tz={TimeZone.Id})";
    }

    private static string List(IEnumerable<int> values) =>
        string.Join(',', values.Order().Select(v => v.ToString(CultureInfo.InvariantCulture)));

    private static FrozenSet<int> ParseField(string text, string name, int min, int max, bool allowStep)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text, name);
        var values = new HashSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            var range = slash < 0 ? part : part[..slash];
            var step = 1;
            if (slash >= 0)
            {
                if (!allowStep)
                    throw new ArgumentException($"{name}: steps ('{part}') are not allowed.", name);
                if (!int.TryParse(part[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1)
                    throw new ArgumentException($"{name}: '{part}' has no valid step.", name);
            }
            int low, high;
            if (range == "*")
            {
                (low, high) = (min, max);
            }
            else if (range.Split('-') is [var from, var to])
            {
                low = Number(from, part, name, min, max);
                high = Number(to, part, name, min, max);
                if (low > high)
                    throw new ArgumentException($"{name}: '{part}' runs backwards.", name);
            }
            else
            {
                low = high = Number(range, part, name, min, max);
                if (slash >= 0)
                    high = max;
            }
            for (var value = low; value <= high; value += step)
                values.Add(value);
        }
        return values.ToFrozenSet();
    }

    private static int Number(string text, string part, string name, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"{name}: '{part}' is out of range {min}-{max}.", name);
}
