using Microsoft.Extensions.DependencyInjection;
using TaskBus.Contracts.Tasks;
using TaskBus.Runs;
using TaskBus.Storage;
using TaskBus.Tasks;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Storage;

public sealed class TaskStoreWriterTests : HarnessTest
{
    [Fact]
    public async Task FinishedRuns_AreWrittenToTheStore_ExceptSkipDbTasks()
    {
        var add = await Services.Manager.QueueAndWaitAsync("add", new Add { A = 1, B = 2 }, TimeSpan.FromSeconds(30));
        var ping = await Services.Manager.QueueAndWaitAsync("ping", null, TimeSpan.FromSeconds(30));
        await Recorder.WaitForFinal(add.Id);
        await Recorder.WaitForFinal(ping.Id);
        await Services.Provider.GetRequiredService<TaskStoreWriter>().FlushAsync();

        var store = Services.Provider.GetRequiredService<ITaskStore>();
        var stored = await store.GetRunAsync(add.Id, CancellationToken.None);
        Assert.Equal(TaskState.Success, stored?.State);
        Assert.Equal(3, stored!.Params!.Value.GetProperty("a").GetDouble() + stored.Params.Value.GetProperty("b").GetDouble());
        Assert.Null(await store.GetRunAsync(ping.Id, CancellationToken.None));
        Assert.Equal(TaskState.Success, (await store.GetTaskAsync("add", CancellationToken.None)).LastRunState);
    }
}

public sealed class TaskStoreWriterOutageTests
{
    [Fact]
    public async Task WhileTheStoreIsAway_AFlushWaits_AndCompletesWithEveryChangeStoredOnceItIsBack()
    {
        // The writer's loop runs on its own thread: on the real clock, its next try (after 100 ms) finds the store back.
        var time = TimeProvider.System;
        var store = new FlakyStore { Down = true };
        var outage = new StoreOutage(store, time, Microsoft.Extensions.Logging.Abstractions.NullLogger<StoreOutage>.Instance);
        var registry = new TaskRegistry();
        registry.Add(TaskDescriptor.FromTask(typeof(TaskBus.Worker.Tasks.AddTask)));
        var writer = new TaskStoreWriter(store, outage, registry, time, Microsoft.Extensions.Logging.Abstractions.NullLogger<TaskStoreWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);
        var lifecycle = new RunLifecycle(
            new RunHandlers(Microsoft.Extensions.Logging.Abstractions.NullLogger<RunHandlers>.Instance), [writer], time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<RunLifecycle>.Instance, writer);
        var run = RunFactory.FromHeader(
            Guid.NewGuid(), "add", new RunHeader(time.GetUtcNow(), TaskPriority.Medium, 0, 0, "", "", null, "add"), new Add { A = 1, B = 2 }, redelivered: false);
        lifecycle.Start(run);
        lifecycle.Succeed(run);

        var flush = lifecycle.FlushAsync();
        await store.FirstRefusal.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(flush.IsCompleted);
        store.Down = false;
        await flush.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(TaskState.Success, (await store.GetRunAsync(run.Id, CancellationToken.None))?.State);
        Assert.False(outage.IsDown);
        Assert.Equal(1, outage.RunsHeldBack);
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void AFailureOfACallBegunBeforeTheStoreWasSeenBack_StartsNoNewOutage()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var outage = new StoreOutage(new FlakyStore(), time, Microsoft.Extensions.Logging.Abstractions.NullLogger<StoreOutage>.Instance);
        outage.Unreachable(new FlakyStore.StoreDownException(), "a");
        var before = outage.Mark;
        outage.Reached();

        // A connect that was timing out while the store came back fails after it: not a new outage.
        Assert.False(outage.Unreachable(new FlakyStore.StoreDownException(), "b", before));
        Assert.False(outage.IsDown);
        Assert.True(outage.Unreachable(new FlakyStore.StoreDownException(), "c", outage.Mark));
        Assert.True(outage.IsDown);
        Assert.Equal(2, outage.RunsHeldBack);
    }
}
