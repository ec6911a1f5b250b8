using TaskBus.Scheduling;

namespace TaskBus.Tests.Tasks;

public class CronScheduleTests
{
    [Fact]
    public void Months_ListsRangesAndSteps()
    {
        var cron = new CronSchedule(monthOfYear: "1,4,*/6,8-9");

        Assert.Equal([1, 4, 7, 8, 9], cron.Months.Order());
    }

    [Fact]
    public void Minutes_ListsRangesAndSteps()
    {
        var cron = new CronSchedule(minute: "4,8-9,*/6,1");

        Assert.Equal([0, 1, 4, 6, 8, 9, 12, 18, 24, 30, 36, 42, 48, 54], cron.Minutes.Order());
        Assert.Equal([0, 16, 32, 48], new CronSchedule(minute: "*/16").Minutes.Order());
    }

    [Fact]
    public void DayOfWeek_ZeroAndTwo_FireOnSundaysAndTuesdaysOfJanuary2011()
    {
        var cron = new CronSchedule(minute: "0", hour: "0", dayOfWeek: "0,2");
        var days = new List<int>();
        var at = new DateTimeOffset(2010, 12, 31, 23, 59, 0, TimeSpan.Zero);
        while (cron.NextFireAfter(at) is { Month: 1 } next)
        {
            days.Add(next.Day);
            at = next;
        }

        Assert.Equal([2, 4, 9, 11, 16, 18, 23, 25, 30], days);
    }

    [Fact]
    public void DayOfWeek_ZeroAndSeven_AreBothSunday()
    {
        Assert.Equal([0], new CronSchedule(dayOfWeek: "0").DaysOfWeek);
        Assert.Equal([0], new CronSchedule(dayOfWeek: "7").DaysOfWeek);
        var sunday = new CronSchedule(minute: "0", hour: "0", dayOfWeek: "7").NextFireAfter(new DateTimeOffset(2011, 1, 3, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(DayOfWeek.Sunday, sunday!.Value.DayOfWeek);
    }

    [Theory]
    [InlineData("61", "*", "*")]
    [InlineData("0-61", "*", "*")]
    [InlineData("*", "24", "*")]
    [InlineData("*", "*", "*/3")]
    [InlineData("*", "*", "8")]
    [InlineData("x", "*", "*")]
    public void Constructor_OutOfRangeOrStepOnDayOfWeek_Throws(string minute, string hour, string dayOfWeek) =>
        Assert.ThrowsAny<ArgumentException>(() => new CronSchedule(minute, hour, dayOfWeek: dayOfWeek));

    [Fact]
    public void EightOClock_FiresOnceAtEight_NotAgainASecondLater()
    {
        var cron = new CronSchedule(minute: "0", hour: "8");
        var eight = new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

        Assert.Equal(eight, cron.NextFireAfter(eight.AddSeconds(-1)));
        Assert.Equal(eight.AddDays(1), cron.NextFireAfter(eight));
        Assert.Equal(eight.AddDays(1), cron.NextFireAfter(eight.AddSeconds(1)));
    }

    [Fact]
    public void TimeZone_ReadsTheFieldsInThatZone()
    {
        var rome = TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome");
        var cron = CronSchedule.Parse("0 8 * * *", rome);

        var next = cron.NextFireAfter(new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero))!.Value;

        Assert.Equal(new DateTimeOffset(2026, 7, 1, 6, 0, 0, TimeSpan.Zero), next);
        Assert.Equal("crontab(0 8 * * *, tz=Europe/Rome)", cron.ToString());
    }

    [Fact]
    public void Parse_NotFiveFields_Throws() =>
        Assert.Throws<ArgumentException>(() => CronSchedule.Parse("0 8 * *"));

    [Fact]
    public void BothDayFieldsRestricted_FireOnDaysThatAreBoth_AsAioFluid()
    {
        var fridayThe13th = CronSchedule.Parse("0 8 13 * 5");

        Assert.Equal(
            [Utc(2026, 2, 13, 8, 0), Utc(2026, 3, 13, 8, 0), Utc(2026, 11, 13, 8, 0), Utc(2027, 8, 13, 8, 0)],
            Fires(fridayThe13th, Utc(2026, 1, 1, 0, 0), 4));
        Assert.True(fridayThe13th.FiresAt(Utc(2026, 2, 13, 8, 0)));
        Assert.False(fridayThe13th.FiresAt(Utc(2026, 1, 13, 8, 0)));
        // Quartz cannot restrict both: its trigger fires on the days of month, the other weekdays are dropped.
        Assert.Equal("0 0 8 13 1,2,3,4,5,6,7,8,9,10,11,12 ?", fridayThe13th.ToQuartzExpression());
    }

    [Fact]
    public void BothDayFieldsRestricted_AcrossMonthEnds_FireOnlyOnTheLastDaysThatAreSundays()
    {
        var cron = CronSchedule.Parse("30 23 28-31 * 0");

        Assert.Equal(
            [Utc(2026, 3, 29, 23, 30), Utc(2026, 5, 31, 23, 30), Utc(2026, 6, 28, 23, 30), Utc(2026, 8, 30, 23, 30), Utc(2026, 11, 29, 23, 30)],
            Fires(cron, Utc(2026, 1, 1, 0, 0), 5));
    }

    [Fact]
    public void BothDayFieldsRestricted_ReadTheWeekdayInTheScheduleTimeZone()
    {
        var rome = TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome");
        // 00:30 in Rome on a 1st that is a Monday: 1 June 2026, which is still Sunday 31 May in UTC.
        var cron = CronSchedule.Parse("30 0 1 * 1", rome);

        Assert.Equal([Utc(2026, 5, 31, 22, 30)], Fires(cron, Utc(2026, 1, 1, 0, 0), 1));
    }

    private static DateTimeOffset Utc(int year, int month, int day, int hour, int minute) => new(year, month, day, hour, minute, 0, TimeSpan.Zero);

    private static List<DateTimeOffset> Fires(CronSchedule cron, DateTimeOffset after, int count)
    {
        var fires = new List<DateTimeOffset>();
        for (var at = after; fires.Count < count && cron.NextFireAfter(at) is { } next; at = next)
            fires.Add(next.ToUniversalTime());
        return fires;
    }

    [Fact]
    public void QuartzExpression_HasSecondsAndSundayAsOne()
    {
        Assert.Equal("0 0 8 ? 1,2,3,4,5,6,7,8,9,10,11,12 1,3", CronSchedule.Parse("0 8 * * 0,2").ToQuartzExpression());
    }

    [Theory]
    [InlineData(MisfirePolicy.Skip)]
    [InlineData(MisfirePolicy.FireOnce)]
    public void Trigger_AnyMisfirePolicy_SkipsInQuartz_SoTicksStayOnTheCronGrid(MisfirePolicy policy)
    {
        var trigger = TaskScheduleRegistrar.Trigger("t", CronSchedule.Parse("* * * * *") with { Misfire = policy }, DateTimeOffset.UtcNow);

        Assert.Equal((int)Quartz.CronTriggerMisfireInstruction.DoNothing, (int)((Quartz.ICronTrigger)trigger).MisfireInstruction);
    }

    [Fact]
    public void LatestTick_AfterMissedTicks_IsTheLastCronTimeBeforeNow()
    {
        var start = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
        var trigger = (Quartz.Extensibility.IOperableTrigger)TaskScheduleRegistrar.Trigger("t", CronSchedule.Parse("*/15 * * * *"), start);
        // As the misfire found it: its next fire time still the first tick missed.
        trigger.NextFireTimeUtc = start;

        Assert.Equal(start.AddMinutes(45), FireOnceListener.LatestTick(trigger, start.AddMinutes(59)));
        Assert.Null(FireOnceListener.LatestTick(trigger, start.AddSeconds(-1)));
    }
}
