using TaskBus.Storage;

namespace TaskBus.IntegrationTests.Storage;

public sealed class MemoryTaskStoreTests : TaskStoreContract
{
    private protected override Task<ITaskStore> CreateStoreAsync() => Task.FromResult<ITaskStore>(new MemoryTaskStore());
}
