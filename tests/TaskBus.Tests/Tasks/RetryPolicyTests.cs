namespace TaskBus.Tests.Tasks;

public class RetryPolicyTests
{
    [Theory]
    [InlineData(5, 1, 60, new double[] { 5, 5, 5 })]
    [InlineData(1, 2, 60, new double[] { 1, 2, 4 })]
    [InlineData(10, 2, 15, new double[] { 10, 15 })]
    public void Delay_GrowsByBackoffUpToMaxWait(double wait, double backoff, double maxWait, double[] expected)
    {
        var policy = new RetryPolicy { Wait = TimeSpan.FromSeconds(wait), Backoff = backoff, MaxWait = TimeSpan.FromSeconds(maxWait) };

        var delays = Enumerable.Range(1, expected.Length).Select(n => policy.Delay(n).TotalSeconds);

        Assert.Equal(expected, delays);
    }

    [Fact]
    public void Matches_ExceptionTypeAndItsSubclasses()
    {
        var policy = new RetryPolicy { Exceptions = [typeof(IOException)] };

        Assert.True(policy.Matches(new IOException()));
        Assert.True(policy.Matches(new FileNotFoundException()));
        Assert.False(policy.Matches(new InvalidOperationException()));
        Assert.True(new RetryPolicy().Matches(new InvalidOperationException()));
    }

    [Fact]
    public void CanRetry_StopsAfterMaxAttempts_OrNeverWhenUnlimited()
    {
        var limited = new RetryPolicy { MaxAttempts = 3 };
        var unlimited = new RetryPolicy();

        Assert.True(limited.CanRetry(3));
        Assert.False(limited.CanRetry(4));
        Assert.True(unlimited.CanRetry(1000));
    }
}
