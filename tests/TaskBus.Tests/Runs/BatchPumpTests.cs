

namespace TaskBus.Tests.Runs;

public class BatchPumpTests
{
    [Fact]
    public async Task FlushAsync_CompletesOnlyOnceEverythingPostedBeforeItWasHandedOn()
    {
        var handled = new List<int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pump = new BatchPump<int>(2, async batch =>
        {
            await gate.Task;
            lock (handled)
                handled.AddRange(batch);
        });
        pump.Start();
        for (var i = 0; i < 5; i++)
            pump.Post(i);

        var waiting = pump.FlushAsync();
        Assert.False(waiting.IsCompleted);
        gate.SetResult();
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));

        lock (handled)
            Assert.Equal([0, 1, 2, 3, 4], handled);
        Assert.True(pump.FlushAsync().IsCompleted);
        await pump.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task FlushAsync_EndsWithTheBatchThatCoversIt_NotWithALaterCallersBatch()
    {
        // Each batch waits for a gate of its own; the pump says when a batch has started.
        var gates = new[] { new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var started = new[] { new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var batches = 0;
        var pump = new BatchPump<int>(10, async _ =>
        {
            var i = batches++;
            started[i].SetResult();
            await gates[i].Task;
        });
        pump.Start();
        pump.Post(1);
        var first = pump.FlushAsync();
        await started[0].Task.WaitAsync(TimeSpan.FromSeconds(30));
        pump.Post(2); // waits for the next batch
        var second = pump.FlushAsync();

        gates[0].SetResult();
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        await started[1].Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(second.IsCompleted);
        gates[1].SetResult();
        await second.WaitAsync(TimeSpan.FromSeconds(30));
        await pump.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task FlushAsync_NotStartedOrStopped_DoesNotWait()
    {
        var pump = new BatchPump<int>(10, _ => Task.CompletedTask);
        pump.Post(1);
        Assert.True(pump.FlushAsync().IsCompleted);

        pump.Start();
        await pump.StopAsync(CancellationToken.None);
        Assert.False(pump.Post(2));
        Assert.True(pump.FlushAsync().IsCompleted);
    }
}
