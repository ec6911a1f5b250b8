using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Events;
using TaskBus.Execution;
using TaskBus.Storage;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Execution;

/// <summary>
/// The consume path on its own: no bus, no harness; a memory store, a dispatcher, a fake clock, and a re-queue that
/// records what it is given.
/// </summary>
public sealed class TaskRunProcessorTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 8, 45, 52, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(T0);
    private readonly MemoryTaskStore _store = new();
    private readonly TaskRunDispatcher _dispatcher = new();
    private readonly TaskRegistry _registry = new();
    private readonly ServiceProvider _services;
    private readonly TaskRunProcessor _processor;
    private readonly List<(TaskRun Run, TimeSpan Delay)> _requeued = [];
    private readonly List<(string Id, TaskState State)> _events = [];

    public TaskRunProcessorTests()
    {
        var collection = new ServiceCollection();
        foreach (var type in new[] { typeof(DummyTask), typeof(ExclusiveTask), typeof(RetryableTask), typeof(NoopTask) })
        {
            _registry.Add(TaskDescriptor.FromTask(type));
            collection.AddScoped(type);
        }
        collection.AddSingleton<ITaskStore>(_store);
        collection.AddSingleton<TaskManager>(sp => new TaskManager(_registry, sp, Options.Create(new TaskBusOptions()), _time));
        collection.AddScoped(sp => new TaskRunContext(sp.GetRequiredService<TaskManager>(), _store));
        _services = collection.BuildServiceProvider(validateScopes: true);
        foreach (var state in Enum.GetValues<TaskState>())
            _dispatcher.RegisterHandler(state.ToWire() + ".test", run => { lock (_events) _events.Add((run.Id, run.State)); });
        _processor = new TaskRunProcessor(_store, _dispatcher, _time, NullLogger.Instance, CancellationToken.None);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    [Fact]
    public async Task ARun_Succeeds_WithItsTimesOnTheClock_AndGivesItsSlotBack()
    {
        var run = Queued("dummy", new Dummy { Sleep = 0 });

        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(run));

        Assert.Equal((TaskState.Success, null), (run.State, run.Error));
        Assert.Equal((T0, T0), (run.Start!.Value, run.End!.Value));
        Assert.Equal([TaskState.Running, TaskState.Success], StatesOf(run));
        Assert.True(await _store.TryAcquireSlotAsync("dummy", "next", 1, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal(0, _processor.NumConcurrentTasks);
    }

    [Fact]
    public async Task ADisabledTask_EndsAbortedWithoutCallingTheTask()
    {
        await _store.SetEnabledAsync("dummy", false, CancellationToken.None);
        var run = Queued("dummy", new Dummy { Sleep = 0, Error = true });

        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(run));

        // Had it run, it would have failed; queued to aborted passes through running, as in aio-fluid.
        Assert.Equal((TaskState.Aborted, "task dummy is disabled"), (run.State, run.Error));
        Assert.Equal([TaskState.Running, TaskState.Aborted], StatesOf(run));
    }

    [Fact]
    public async Task OverTheLimit_WithoutRateLimitRetry_EndsRateLimited()
    {
        Assert.True(await _store.TryAcquireSlotAsync("dummy", "another-worker's-run", 1, TimeSpan.FromMinutes(1), CancellationToken.None));
        var run = Queued("dummy", new Dummy { Sleep = 0 });

        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(run));

        Assert.Equal(TaskState.RateLimited, run.State);
        Assert.Empty(_requeued);
    }

    [Fact]
    public async Task OverTheLimit_WithRateLimitRetry_RequeuesACopy_AtLeastHalfASecondLater_WithoutEvents()
    {
        Assert.True(await _store.TryAcquireSlotAsync("exclusive", "another-worker's-run", 1, TimeSpan.FromMinutes(1), CancellationToken.None));
        var run = Queued("exclusive", new Exclusive { Sleep = 0 });

        Assert.Equal(ConsumeOutcome.Requeued, await ProcessAsync(run));

        var (copy, delay) = Assert.Single(_requeued);
        Assert.Equal((run.Id, 1, 0, TaskState.Queued), (copy.Id, copy.RateLimitAttempt, copy.RetryAttempt, copy.State));
        Assert.Equal(run.Queued, copy.Queued);
        // The task's own wait is 0: a busy task is still not polled in a tight loop.
        Assert.Equal(TaskRunProcessor.MinRateLimitDelay, delay);
        Assert.Empty(_events);
    }

    [Fact]
    public async Task AFailureTheRetryPolicyMatches_StartsTheNextRound_ExecuteAfterOnTheClock()
    {
        var run = Queued("retryable", new Retryable { FailTimes = 1 });
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(ConsumeOutcome.Requeued, await ProcessAsync(run));

        Assert.Equal(TaskState.Failure, run.State);
        var (retry, delay) = Assert.Single(_requeued);
        Assert.Equal((run.Id, 1, TaskState.Init), (retry.Id, retry.RetryAttempt, retry.State));
        Assert.Equal(TimeSpan.Zero, delay);
        Assert.Equal(T0.AddSeconds(3), retry.ExecuteAfter);
        // The new round begins with init (the re-queue makes it queued when it sends it).
        Assert.Equal([TaskState.Running, TaskState.Failure, TaskState.Init], StatesOf(run));

        // Its second attempt succeeds: no further round.
        var second = Queued("retryable", new Retryable { FailTimes = 1 }, retryAttempt: 1, id: run.Guid);
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(second));
        Assert.Equal(TaskState.Success, second.State);
        Assert.Single(_requeued);
    }

    [Fact]
    public async Task RedeliveredTickNobodyClaimed_RunsAndClaims_SoTheRecoveredCopyIsDropped()
    {
        var id = Guid.NewGuid();

        // The worker that got the first delivery died before claiming; the redelivery runs it.
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(Tick(id), redelivered: true));
        // The killed node's fire, recovered by another scheduler: same tick, same id, a fresh message, no events.
        var copy = Tick(id);
        Assert.Equal(ConsumeOutcome.Dropped, await ProcessAsync(copy, redelivered: false));
        Assert.Empty(StatesOf(copy).Skip(2));
    }

    [Fact]
    public async Task RedeliveredTick_RunsWhileItsClaimedRunIsUnfinished_AndIsDroppedOnceTheStoreHoldsItFinished()
    {
        var id = Guid.NewGuid();
        Assert.True(await _store.TryClaimAsync(id.ToString("N"), CancellationToken.None));

        // Claimed by a worker that died while running it: the redelivery runs it.
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(Tick(id), redelivered: true));
        // Stored finished by a worker that died before its ack: the redelivery is a duplicate.
        await _store.UpsertRunsAsync([Tick(id).ToEvent("gone") with { State = TaskState.Success }], CancellationToken.None);
        Assert.Equal(ConsumeOutcome.Dropped, await ProcessAsync(Tick(id), redelivered: true));
        // A fresh copy of a claimed tick never runs.
        Assert.Equal(ConsumeOutcome.Dropped, await ProcessAsync(Tick(id), redelivered: false));
    }

    private TaskRun Queued(string task, object parameters, int retryAttempt = 0, Guid? id = null)
    {
        var run = new TaskRun(id ?? Guid.NewGuid(), task, TaskPriority.Medium, parameters, _time, _dispatcher) { RetryAttempt = retryAttempt };
        run.RestoreQueued(_time.GetUtcNow());
        return run;
    }

    private TaskRun Tick(Guid id)
    {
        var run = new TaskRun(id, "noop", TaskPriority.Medium, new Noop(), _time, _dispatcher) { ScheduledFor = T0 };
        run.RestoreQueued(T0);
        return run;
    }

    private List<TaskState> StatesOf(TaskRun run)
    {
        lock (_events)
            return [.. _events.Where(e => e.Id == run.Id).Select(e => e.State)];
    }

    private async Task<ConsumeOutcome> ProcessAsync(TaskRun run, bool redelivered = false)
    {
        await using var scope = _services.CreateAsyncScope();
        return await _processor.ProcessAsync(_registry.Get(run.Task), run, scope.ServiceProvider, redelivered, (next, delay) =>
        {
            _requeued.Add((next, delay));
            return Task.CompletedTask;
        }, CancellationToken.None);
    }
}
