using MassTransit.Serialization;
using TaskBus.MassTransit;

namespace TaskBus.Tests.Runs;

public sealed class RunHeaderTests
{
    [Fact]
    public void Format_ThenTryParse_KeepsQueuedToTheMicrosecond_AndTheTick()
    {
        var queued = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_560);
        var tick = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        var run = new TaskRun(Guid.NewGuid(), "ping", TaskPriority.High, new object(), queued)
        {
            ScheduledFor = tick,
            FromRunId = "from",
            RootRunId = "root",
            RetryAttempt = 2,
            RateLimitAttempt = 1,
        };

        Assert.True(RunHeader.TryParse(RunHeader.Format(run), out var header));

        Assert.Equal(queued, header.Queued);
        Assert.Equal(tick, header.ScheduledFor);
        Assert.Equal((TaskPriority.High, 2, 1, "from", "root", "ping"), (header.Priority, header.RetryAttempt, header.RateLimitAttempt, header.FromRunId, header.RootRunId, header.Task));
    }

    [Theory]
    [InlineData("1764324000123;medium;0;0;;;t;ping")]
    [InlineData("1764324000123;medium;0;0;;;;add")]
    public void TryParse_TheEarlierVersionsHeader_MillisecondsAndNoTickTime(string header)
    {
        Assert.True(RunHeader.TryParse(header, out var read));

        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1764324000123), read.Queued);
        Assert.Null(read.ScheduledFor);
    }

    [Fact]
    public void Read_FromMessageHeaders_NoOrBrokenHeader_IsAPlainMessage()
    {
        Assert.Null(RunStamp.Read(new DictionarySendHeaders(new Dictionary<string, object?>())));
        Assert.Null(RunStamp.Read(Headers("soon;medium;0;0;;;;add")));
        Assert.Equal("add", RunStamp.Read(Headers("1764324000123;medium;0;0;;;;add"))?.Task);
    }

    private static DictionarySendHeaders Headers(string value) =>
        new(new Dictionary<string, object?> { [RunHeader.Name] = value });
}
