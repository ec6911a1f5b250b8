using TaskBus.Scheduling;

namespace TaskBus.Tests.Tasks;

public class EveryScheduleTests
{
    [Theory]
    [InlineData(2, "every(0:00:02)")]
    [InlineData(3725, "every(1:02:05)")]
    [InlineData(0.5, "every(0:00:00.500000)")]
    [InlineData(90000, "every(1 day, 1:00:00)")]
    public void ToString_IsPythonTimedeltaText(double seconds, string text) =>
        Assert.Equal(text, new EverySchedule(TimeSpan.FromSeconds(seconds)).ToString());

    [Fact]
    public void Delay_NotOnTheFirstTick_ButSoonAfterTheDelay()
    {
        var now = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
        var every = new EverySchedule(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(0.3));

        var trigger = TaskScheduleRegistrar.Trigger("t", every, now);
        var first = trigger.GetFireTimeAfter(now.AddTicks(-1))!.Value;

        Assert.True(first > now);
        Assert.True(first <= now.AddSeconds(0.4));
        Assert.Equal(first.AddSeconds(10), trigger.GetFireTimeAfter(first));
    }

    [Fact]
    public void Jitter_QueuesEachRunBetweenTheIntervalAndTheIntervalPlusJitter()
    {
        var every = new EverySchedule(TimeSpan.FromSeconds(5), jitter: TimeSpan.FromSeconds(2));
        var random = new Random(17);

        for (var i = 0; i < 100; i++)
        {
            var next = every.Interval + every.DelayBeforeQueue(random.NextDouble());
            Assert.InRange(next.TotalSeconds, 5, 6.999999);
        }
    }

    [Fact]
    public void Constructor_NonPositiveInterval_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new EverySchedule(TimeSpan.Zero));

    [Theory]
    [InlineData(MisfirePolicy.Skip)]
    [InlineData(MisfirePolicy.FireOnce)]
    public void Trigger_AnyMisfirePolicy_SkipsInQuartz_SoTicksStayOnTheGrid(MisfirePolicy policy)
    {
        var trigger = TaskScheduleRegistrar.Trigger("t", new EverySchedule(TimeSpan.FromSeconds(1)) { Misfire = policy }, DateTimeOffset.UtcNow);

        Assert.Equal((int)Quartz.SimpleTriggerMisfireInstruction.NextWithRemainingCount, (int)((Quartz.ISimpleTrigger)trigger).MisfireInstruction);
    }

    [Fact]
    public void LatestTick_AfterMissedTicks_IsTheLastGridPointBeforeNow()
    {
        var start = new DateTimeOffset(2026, 11, 27, 12, 0, 0, 300, TimeSpan.Zero);
        var trigger = (Quartz.Extensibility.IOperableTrigger)TaskScheduleRegistrar.Trigger("t", new EverySchedule(TimeSpan.FromSeconds(2)), start);
        trigger.ComputeFirstFireTimeUtc(null);

        Assert.Equal(start.AddSeconds(58), FireOnceListener.LatestTick(trigger, start.AddSeconds(59.9)));
        Assert.Equal(start, FireOnceListener.LatestTick(trigger, start));
        Assert.Null(FireOnceListener.LatestTick(trigger, start.AddMilliseconds(-1)));
    }

    [Fact]
    public void TriggerGrid_LatestTick_OfAFireALittleLate_IsTheTickItWasFor()
    {
        var start = new DateTimeOffset(2026, 11, 27, 12, 0, 0, 300, TimeSpan.Zero);
        var trigger = TaskScheduleRegistrar.Trigger("t", new EverySchedule(TimeSpan.FromMilliseconds(500)), start);

        Assert.Equal(start.AddSeconds(10), TriggerGrid.LatestTick(trigger, start.AddSeconds(10).AddMilliseconds(7)));
        Assert.Equal(start.AddSeconds(10), TriggerGrid.LatestTick(trigger, start.AddSeconds(10)));
        Assert.Null(TriggerGrid.LatestTick(trigger, start.AddMilliseconds(-7)));
    }

    [Theory]
    [InlineData("00:00:05", "every(0:00:05)")]
    [InlineData("*/5 * * * *", "crontab(*/5 * * * *)")]
    public void Parse_ConfigurationText(string text, string schedule) =>
        Assert.Equal(schedule, TaskSchedule.Parse(text)!.ToString());

    [Fact]
    public void Parse_OffIsNone_AndNonsenseThrows()
    {
        Assert.Null(TaskSchedule.Parse("off"));
        Assert.Throws<ArgumentException>(() => TaskSchedule.Parse("sometimes"));
    }
}
