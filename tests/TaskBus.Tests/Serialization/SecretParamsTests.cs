using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using TaskBus.CommandLine;
using TaskBus.Contracts;
using TaskBus.Storage;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Serialization;

public sealed class SecretParamsTests
{
    [Fact]
    public async Task ASecretParam_ReachesTheTaskIntact_AndIsMaskedInEventsStoreAndOutput()
    {
        await using var services = await TestServices.StartAsync(tasks: b => b.AddTask<LoginTask>());
        var recorder = new RunRecorder(services.Manager);
        var password = $"pw-{Guid.NewGuid():N}";

        var run = await services.Manager.QueueAsync("login", new Login { User = "ann", Password = password });
        await recorder.WaitForFinal(run.Id);
        await services.Provider.GetRequiredService<TaskStoreWriter>().FlushAsync();

        Assert.Contains(password, LoginTask.Received);
        var shown = run.ToEvent("test").Params!.Value;
        Assert.Equal("***", shown.GetProperty("password").GetString());
        Assert.Equal("ann", shown.GetProperty("user").GetString());
        var stored = await services.Provider.GetRequiredService<ITaskStore>().GetRunAsync(run.Id, CancellationToken.None);
        Assert.Equal("***", stored!.Params!.Value.GetProperty("password").GetString());
        Assert.DoesNotContain(password, CommandLineHost.ToJson(run), StringComparison.Ordinal);
        Assert.All(recorder.Events, e => Assert.DoesNotContain(password, e.ToEvent("test").Params!.Value.GetRawText(), StringComparison.Ordinal));
    }
}

public sealed record Login
{
    public string User { get; init; } = "";

    [Secret]
    public string Password { get; init; } = "";
}

[Task("login")]
public sealed class LoginTask : ITask<Login>
{
    public static ConcurrentQueue<string> Received { get; } = new();

    public Task ExecuteAsync(Login parameters, CancellationToken cancellationToken)
    {
        Received.Enqueue(parameters.Password);
        return Task.CompletedTask;
    }
}
