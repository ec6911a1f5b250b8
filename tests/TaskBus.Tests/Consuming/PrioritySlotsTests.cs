using Microsoft.Extensions.Time.Testing;
using TaskBus.Consuming;
using TaskBus.Contracts;

namespace TaskBus.Tests.Consuming;

public sealed class PrioritySlotsTests
{
    [Fact]
    public async Task AFreedSlot_GoesToTheHighestPriorityWaiting_ThenTheLongestWaiting()
    {
        var slots = new PrioritySlots(1, open: true);
        var held = await slots.TakeAsync(TaskPriority.Low, CancellationToken.None);
        var order = new List<string>();
        var waiting = new[] { ("low1", TaskPriority.Low), ("medium", TaskPriority.Medium), ("high1", TaskPriority.High), ("low2", TaskPriority.Low), ("high2", TaskPriority.High) }
            .Select(async w =>
            {
                using var slot = await slots.TakeAsync(w.Item2, CancellationToken.None);
                lock (order)
                    order.Add(w.Item1);
            })
            .ToList();
        Assert.Equal((2, 1, 2), slots.Waiting);

        held.Dispose();
        await Task.WhenAll(waiting);

        Assert.Equal(["high1", "high2", "medium", "low1", "low2"], order);
    }

    [Fact]
    public async Task Closed_NoRunTakesASlot_UntilOpened_ThenTheHighestFirst()
    {
        var slots = new PrioritySlots(1);
        var low = slots.TakeAsync(TaskPriority.Low, CancellationToken.None).AsTask();
        var high = slots.TakeAsync(TaskPriority.High, CancellationToken.None).AsTask();
        Assert.False(low.IsCompleted || high.IsCompleted);

        slots.Open();

        (await high).Dispose();
        (await low).Dispose();
        Assert.Equal((0, 0, 0), slots.Waiting);
    }

    [Fact]
    public async Task AWaiterCancelled_LeavesTheLine_AndTheSlotGoesToTheNext()
    {
        var slots = new PrioritySlots(1, open: true);
        var held = await slots.TakeAsync(TaskPriority.Medium, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = slots.TakeAsync(TaskPriority.High, cancel.Token).AsTask();
        var next = slots.TakeAsync(TaskPriority.Low, CancellationToken.None).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        held.Dispose();

        (await next).Dispose();
        // Every slot is back: one more can be taken at once.
        var again = slots.TakeAsync(TaskPriority.Low, CancellationToken.None).AsTask();
        Assert.True(again.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task ARunHeldPastTheLongestWait_GoesAheadOfHigherOnes()
    {
        var time = new FakeTimeProvider();
        var slots = new PrioritySlots(1, open: true, time);
        var held = await slots.TakeAsync(TaskPriority.High, CancellationToken.None);
        var low = slots.TakeAsync(TaskPriority.Low, CancellationToken.None).AsTask();
        time.Advance(PrioritySlots.MaxWait + TimeSpan.FromSeconds(1));
        var high = slots.TakeAsync(TaskPriority.High, CancellationToken.None).AsTask();

        held.Dispose();

        var lowSlot = await low;
        Assert.False(high.IsCompleted);
        lowSlot.Dispose();
        (await high).Dispose();
    }
}
