using TaskBus.Scheduling;

namespace TaskBus.Tests.Scheduling;

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
    public void Constructor_NonPositiveInterval_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new EverySchedule(TimeSpan.Zero));
}
