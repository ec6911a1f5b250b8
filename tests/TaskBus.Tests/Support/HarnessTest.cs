using Microsoft.Extensions.DependencyInjection;
namespace TaskBus.Tests.Support;

/// <summary>A test class on TaskBus's in-memory harness with the sample tasks, recording every state change.</summary>
public abstract class HarnessTest : IAsyncLifetime
{
    protected TestServices Services { get; private set; } = null!;

    protected RunRecorder Recorder { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Services = await TestServices.StartAsync();
        Recorder = new RunRecorder(Services.Manager);
    }

    public async Task DisposeAsync() => await Services.DisposeAsync();

    /// <summary>Waits for a run's final state, then for the store writer to have written it.</summary>
    protected async Task<TaskRun> WaitStoredAsync(string runId)
    {
        var final = await Recorder.WaitForFinal(runId);
        await Services.Provider.GetRequiredService<TaskBus.Storage.TaskStoreWriter>().FlushAsync();
        return final;
    }
}
