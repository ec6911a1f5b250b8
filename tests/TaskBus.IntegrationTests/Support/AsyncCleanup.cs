namespace TaskBus.IntegrationTests.Support;

/// <summary>Runs a cleanup when disposed, for <c>await using</c>.</summary>
public sealed class AsyncCleanup(Func<Task> cleanup) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await cleanup();
}
