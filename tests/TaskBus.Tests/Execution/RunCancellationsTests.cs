using TaskBus.Execution;

namespace TaskBus.Tests.Execution;

public sealed class RunCancellationsTests
{
    private readonly RunCancellations _cancellations = new(TimeProvider.System);

    [Fact]
    public void ACancel_StopsEveryCopyOfTheRunExecutingHere_AndNoOther()
    {
        using var first = _cancellations.Enter("run");
        using var second = _cancellations.Enter("run");
        using var other = _cancellations.Enter("other");

        Assert.True(_cancellations.Cancel("run", "stop"));

        Assert.Equal((true, true, false), (first.IsCancelled, second.IsCancelled, other.IsCancelled));
        Assert.Equal(("stop", "stop"), (first.Reason, second.Reason));
        Assert.Equal(3, _cancellations.Count);
    }

    [Fact]
    public void ACancelBeforeTheRunStarts_IsRemembered_AndStopsItAsItStarts()
    {
        Assert.False(_cancellations.Cancel("later", "early cancel"));

        using var scope = _cancellations.Enter("later");

        Assert.True(scope.IsCancelled);
        Assert.Equal("early cancel", scope.Reason);
    }

    [Fact]
    public void ARunThatEnded_IsNoLongerExecuting_AndACancelThenIsRemembered()
    {
        var scope = _cancellations.Enter("done");
        scope.Dispose();

        Assert.False(_cancellations.IsExecuting("done"));
        Assert.Equal(0, _cancellations.Count);
        Assert.False(_cancellations.Cancel("done", "too late"));
    }
}
