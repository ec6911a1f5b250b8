using Microsoft.Extensions.DependencyInjection;
using TaskBus.Contracts.Tasks;
using TaskBus.Storage;
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
