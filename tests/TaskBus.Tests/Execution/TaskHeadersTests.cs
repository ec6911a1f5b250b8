using MassTransit.Serialization;
using TaskBus.Contracts;
using TaskBus.Execution;

namespace TaskBus.Tests.Execution;

public class TaskHeadersTests
{
    [Fact]
    public void Format_ThenTryRead_KeepsQueuedToTheMicrosecond_AndTheTick()
    {
        var queued = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_560);
        var tick = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        var run = new TaskRun(Guid.NewGuid(), "ping", TaskPriority.High, new object(), TimeProvider.System, null)
        {
            ScheduledFor = tick,
            FromRunId = "from",
            RootRunId = "root",
            RetryAttempt = 2,
            RateLimitAttempt = 1,
        };
        run.RestoreQueued(queued);

        Assert.True(TaskHeaders.TryRead(Headers(TaskHeaders.Format(run)), out var header));

        Assert.Equal(queued, header.Queued);
        Assert.Equal(tick, header.ScheduledFor);
        Assert.Equal((TaskPriority.High, 2, 1, "from", "root", "ping"), (header.Priority, header.RetryAttempt, header.RateLimitAttempt, header.FromRunId, header.RootRunId, header.Task));
    }

    [Theory]
    [InlineData("1764324000123;medium;0;0;;;t;ping")]
    [InlineData("1764324000123;medium;0;0;;;;add")]
    public void TryRead_TheEarlierVersionsHeader_MillisecondsAndNoTickTime(string header)
    {
        Assert.True(TaskHeaders.TryRead(Headers(header), out var read));

        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1764324000123), read.Queued);
        Assert.Null(read.ScheduledFor);
    }

    [Fact]
    public void TryRead_NoOrBrokenHeader_IsAPlainMessage()
    {
        Assert.False(TaskHeaders.TryRead(new DictionarySendHeaders(new Dictionary<string, object?>()), out _));
        Assert.False(TaskHeaders.TryRead(Headers("soon;medium;0;0;;;;add"), out _));
    }

    private static DictionarySendHeaders Headers(string value) =>
        new(new Dictionary<string, object?> { [TaskHeaders.Run] = value });
}
