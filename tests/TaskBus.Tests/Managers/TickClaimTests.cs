using Microsoft.Extensions.DependencyInjection;
using TaskBus.Contracts;
using TaskBus.Execution;
using TaskBus.Storage;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Managers;

/// <summary>A tick runs once however its copies arrive: fresh, redelivered, or queued again by a recovering scheduler.</summary>
public sealed class TickClaimTests
{
    private static readonly DateTimeOffset Tick = new(2026, 11, 28, 8, 45, 52, TimeSpan.Zero);

    [Fact]
    public async Task RedeliveredTickNobodyClaimed_RunsAndClaims_SoTheRecoveredCopyIsDropped()
    {
        await using var services = await TestServices.StartAsync();
        var id = Guid.NewGuid();

        // The worker that got the first delivery died before claiming; the redelivery runs it.
        Assert.Equal(ConsumeOutcome.Finished, await ConsumeTickAsync(services, id, redelivered: true));
        // The killed node's fire, recovered by another scheduler: same tick, same id, a fresh message.
        Assert.Equal(ConsumeOutcome.Dropped, await ConsumeTickAsync(services, id, redelivered: false));
    }

    [Fact]
    public async Task RedeliveredTick_RunsWhileItsClaimedRunIsUnfinished_AndIsDroppedOnceTheStoreHoldsItFinished()
    {
        await using var services = await TestServices.StartAsync();
        var store = services.Provider.GetRequiredService<ITaskStore>();
        var id = Guid.NewGuid();
        Assert.True(await store.TryClaimAsync(id.ToString("N"), CancellationToken.None));

        // Claimed by a worker that died while running it: the redelivery runs it.
        Assert.Equal(ConsumeOutcome.Finished, await ConsumeTickAsync(services, id, redelivered: true));
        // Stored finished by a worker that died before its ack: the redelivery is a duplicate.
        await services.Consumer.StateChangesWentOutAsync();
        await store.UpsertRunsAsync([CreateTick(services, id).ToEvent("gone") with { State = TaskState.Success }], CancellationToken.None);
        Assert.Equal(ConsumeOutcome.Dropped, await ConsumeTickAsync(services, id, redelivered: true));
    }

    private static TaskRun CreateTick(TestServices services, Guid id) =>
        services.Manager.CreateTaskRun(services.Manager.Registry.Get("dummy"), null, id, null, Tick);

    private static async Task<ConsumeOutcome> ConsumeTickAsync(TestServices services, Guid id, bool redelivered)
    {
        var run = CreateTick(services, id);
        var task = services.Manager.Registry.Get("dummy");
        await using var scope = services.Provider.CreateAsyncScope();
        return await services.Consumer.ConsumeAsync(
            task, run, scope.ServiceProvider, redelivered, (_, _) => throw new InvalidOperationException("not re-queued"), CancellationToken.None);
    }
}
