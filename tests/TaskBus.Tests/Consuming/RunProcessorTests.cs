using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using TaskBus.Consuming;
using TaskBus.Contracts.Tasks;
using TaskBus.Execution;
using TaskBus.Storage;
using TaskBus.Tests.Support;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Consuming;

/// <summary>
/// The consume path on its own: no bus, no harness; a memory store, the lifecycle, a fake clock, and a sender that
/// records what it is given.
/// </summary>
public sealed class RunProcessorTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 8, 45, 52, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(T0);
    private readonly FlakyStore _store = new();
    private readonly StoreOutage _outage;
    private readonly RunHandlers _handlers = new(NullLogger<RunHandlers>.Instance);
    private readonly RunLifecycle _lifecycle;
    private readonly TaskRegistry _registry = new();
    private readonly RunsInProgress _running = new();
    private readonly RunCancellations _cancellations = new(TimeProvider.System);
    private readonly RecordingSender _sender = new();
    private readonly ServiceProvider _services;
    private readonly RunProcessor _processor;
    private readonly List<(string Id, TaskState State)> _events = [];

    public RunProcessorTests()
    {
        var collection = new ServiceCollection();
        foreach (var type in new[] { typeof(DummyTask), typeof(ExclusiveTask), typeof(RetryableTask), typeof(NoopTask) })
        {
            _registry.Add(TaskDescriptor.FromTask(type));
            collection.AddScoped(type);
        }
        collection.AddScoped(_ => new TaskRunContext(_registry, new NoQueue(), _store, _time));
        _services = collection.BuildServiceProvider(validateScopes: true);
        _lifecycle = new RunLifecycle(_handlers, [], _time, NullLogger<RunLifecycle>.Instance);
        foreach (var state in Enum.GetValues<TaskState>())
            _handlers.Register(state.ToWire() + ".test", run => { lock (_events) _events.Add((run.Id, run.State)); });
        _outage = new StoreOutage(_store, _time, NullLogger<StoreOutage>.Instance);
        _processor = new RunProcessor(
            _store, _outage, _lifecycle, new TaskExecutor(_lifecycle, _cancellations, NullLoggerFactory.Instance), _sender, _running, _services.GetRequiredService<IServiceScopeFactory>(),
            new RunStandings(_store), NullLogger<RunProcessor>.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        _processor.Dispose();
        await _handlers.DisposeAsync();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task ARun_Succeeds_WithItsTimesOnTheClock_AndGivesItsSlotBack()
    {
        var run = Queued("dummy", new Dummy { Sleep = 0 });

        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(run));

        Assert.Equal((TaskState.Success, null), (run.State, run.Error));
        Assert.Equal((T0, T0), (run.Start!.Value, run.End!.Value));
        Assert.Equal([TaskState.Running, TaskState.Success], StatesOf(run));
        Assert.True(await _store.TryAcquireSlotAsync("dummy", "next", 1, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal((0, 0), (_running.Count, _running.CountOf("dummy")));
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
        Assert.Empty(_sender.Sent);
    }

    [Fact]
    public async Task OverTheLimit_WithRateLimitRetry_RequeuesACopy_AtLeastHalfASecondLater_WithoutEvents()
    {
        Assert.True(await _store.TryAcquireSlotAsync("exclusive", "another-worker's-run", 1, TimeSpan.FromMinutes(1), CancellationToken.None));
        var run = Queued("exclusive", new Exclusive { Sleep = 0 });

        Assert.Equal(ConsumeOutcome.Requeued, await ProcessAsync(run));

        var (copy, delay) = Assert.Single(_sender.Sent);
        Assert.Equal((run.Id, 1, 0, TaskState.Queued), (copy.Id, copy.RateLimitAttempt, copy.RetryAttempt, copy.State));
        Assert.Equal(run.Queued, copy.Queued);
        // The task's own wait is 0: a busy task is still not polled in a tight loop.
        Assert.Equal(RunProcessor.MinRateLimitDelay, delay);
        Assert.Empty(_events);
    }

    [Fact]
    public async Task AFailureTheRetryPolicyMatches_StartsTheNextRound_QueuedOnTheClock_WithThePolicysDelay()
    {
        var run = Queued("retryable", new Retryable { FailTimes = 1 });
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(ConsumeOutcome.Requeued, await ProcessAsync(run));

        Assert.Equal(TaskState.Failure, run.State);
        var (retry, delay) = Assert.Single(_sender.Sent);
        Assert.Equal((run.Id, 1, TaskState.Queued, T0.AddSeconds(3)), (retry.Id, retry.RetryAttempt, retry.State, retry.Queued!.Value));
        Assert.Equal(TimeSpan.Zero, delay);
        // The new round begins again at init and is queued before it is sent.
        Assert.Equal([TaskState.Running, TaskState.Failure, TaskState.Init, TaskState.Queued], StatesOf(run));

        // Its second attempt succeeds: no further round.
        var second = Queued("retryable", new Retryable { FailTimes = 1 }, retryAttempt: 1, id: run.Guid);
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(second));
        Assert.Equal(TaskState.Success, second.State);
        Assert.Single(_sender.Sent);
    }

    [Fact]
    public async Task AFailure_SaysWhetherARetryFollows_OnlyTheLastRoundsIsFinal()
    {
        var failures = new List<(int Attempt, bool WillRetry)>();
        _handlers.Register("failure.willretry", r => { lock (failures) failures.Add((r.RetryAttempt, r.WillRetry)); });
        var id = Guid.NewGuid();

        // [Retry(MaxAttempts = 3)]: rounds 0, 1 and 2 fail and are retried; round 3 fails for good.
        for (var attempt = 0; attempt <= 3; attempt++)
            await ProcessAsync(Queued("retryable", new Retryable { FailTimes = 10 }, retryAttempt: attempt, id: id));

        Assert.Equal([(0, true), (1, true), (2, true), (3, false)], failures);
        Assert.Equal(3, _sender.Sent.Count);
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

    [Fact]
    public async Task WhileTheStoreIsAway_ARunWaitsForItWithoutRunning_AndRunsOnceItIsBack()
    {
        _store.Down = true;
        var run = Queued("dummy", new Dummy { Sleep = 0 });

        var processing = ProcessAsync(run);

        // The enabled flag was never read: the run waits (its message unacknowledged), neither run nor failed.
        Assert.False(processing.IsCompleted);
        Assert.Equal(TaskState.Queued, run.State);
        Assert.True(_outage.IsDown);
        Assert.Equal(1, _outage.RunsWaiting);

        _store.Down = false;
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(ConsumeOutcome.Finished, await processing);
        Assert.Equal(TaskState.Success, run.State);
        Assert.False(_outage.IsDown);
        Assert.Equal(1, _outage.RunsHeldBack);
    }

    [Fact]
    public async Task WhileTheStoreIsAway_ATasksEnabledFlag_IsTheOneLastRead()
    {
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(Queued("noop", new Noop())));
        _store.Down = true;
        var run = Queued("noop", new Noop());

        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(run));

        Assert.Equal(TaskState.Success, run.State);
        Assert.True(_outage.IsDown);
    }

    [Fact]
    public async Task WhileTheStoreIsAway_AConcurrencySlotIsNotGuessed_TheRunWaitsForIt()
    {
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(Queued("exclusive", new Exclusive { Sleep = 0 })));
        _store.Down = true;
        var run = Queued("exclusive", new Exclusive { Sleep = 0 });

        var processing = ProcessAsync(run);

        Assert.False(processing.IsCompleted);
        Assert.Equal(TaskState.Queued, run.State);
        Assert.Empty(_sender.Sent);
        _store.Down = false;
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(ConsumeOutcome.Finished, await processing);
        Assert.Equal(TaskState.Success, run.State);
        // The slot was given back once the store answered.
        Assert.True(await _store.TryAcquireSlotAsync("exclusive", "next", 1, TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task ARunWaitingForTheStore_GivesUpWhenItsMessageIsTakenBack_WithoutAnEnd()
    {
        _store.Down = true;
        var run = Queued("dummy", new Dummy { Sleep = 0 });
        using var takenBack = new CancellationTokenSource();

        var processing = _processor.ProcessAsync(_registry.Get("dummy"), run, new Delivery(false, null), takenBack.Token);
        await takenBack.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => processing);
        Assert.Equal(TaskState.Queued, run.State);
        Assert.Empty(StatesOf(run));
    }

    [Fact]
    public async Task ATickClaimWhoseAnswerWasLost_StillRunsTheTick_TheStoredRunDecides()
    {
        _store.LoseNextAnswer = true;
        var tick = Tick(Guid.NewGuid());

        // The claim was made, then the connection dropped: trying again finds it taken, by this very delivery.
        var outcome = ProcessAsync(tick);
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(ConsumeOutcome.Finished, await outcome);
        Assert.Equal(TaskState.Success, tick.State);
    }

    [Fact]
    public async Task ARetryTheBrokerDoesNotTake_IsSentAgain_WhileTheDeliveredMessageWaits()
    {
        _sender.Refuse = 1;
        var run = Queued("retryable", new Retryable { FailTimes = 1 });

        // The outcome comes only once the next round is sent: until then the delivered message is not acknowledged.
        Assert.Equal(ConsumeOutcome.Requeued, await ProcessAsync(run));

        var (retry, _) = Assert.Single(_sender.Sent);
        Assert.Equal((run.Id, 1), (retry.Id, retry.RetryAttempt));
        Assert.Equal(0, _sender.Refuse);
    }

    [Fact]
    public async Task ARetryTheBrokerRefuses_EndsTheNextRoundAFinalFailure_AndTheMessageGoesOn()
    {
        _sender.Fail = new InvalidOperationException("channel closed (test)");
        var run = Queued("retryable", new Retryable { FailTimes = 1 });
        var failures = new List<(int Attempt, bool WillRetry, string? Error)>();
        _handlers.Register("failure.notqueued", r => { lock (failures) failures.Add((r.RetryAttempt, r.WillRetry, r.Error)); });

        // The consumer sends the message to the error queue when this throws.
        await Assert.ThrowsAsync<InvalidOperationException>(() => ProcessAsync(run));

        // Round 0 failed with a retry to follow; the retry, never sent, ends as a final failure saying why.
        Assert.Equal(2, failures.Count);
        Assert.Equal((0, true), (failures[0].Attempt, failures[0].WillRetry));
        Assert.Equal((1, false), (failures[1].Attempt, failures[1].WillRetry));
        Assert.Contains("the retry could not be queued", failures[1].Error, StringComparison.Ordinal);
        Assert.Empty(_sender.Sent);
    }

    [Fact]
    public async Task ARunReceivedAfterItsExpiry_EndsAbortedExpired_WithoutRunning_ButARetryRoundDoesNot()
    {
        var run = Queued("noop", new Noop(), expires: T0.AddSeconds(1));
        var retry = Queued("noop", new Noop(), retryAttempt: 1, expires: T0.AddSeconds(1));
        var fresh = Queued("noop", new Noop(), expires: T0.AddSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(run));
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(retry));
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(fresh));

        Assert.Equal((TaskState.Aborted, "expired"), (run.State, run.Error));
        Assert.Equal([TaskState.Aborted], StatesOf(run));
        Assert.Equal(TaskState.Success, retry.State);
        Assert.Equal(TaskState.Success, fresh.State);
    }

    [Fact]
    public async Task ARunWhoseRoundHasEndedInTheStore_IsDropped_WithoutEvents_ButTheNextRoundRuns()
    {
        var ended = Queued("noop", new Noop());
        var nextRound = Queued("noop", new Noop(), retryAttempt: 1);
        await _store.UpsertRunsAsync([ended.ToEvent("w") with { State = TaskState.Success }, nextRound.ToEvent("w") with { State = TaskState.Failure, RetryAttempt = 0 }], CancellationToken.None);

        Assert.Equal(ConsumeOutcome.Dropped, await ProcessAsync(ended, redelivered: true));
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(nextRound));

        Assert.Empty(StatesOf(ended));
        Assert.Equal(TaskState.Success, nextRound.State);
    }

    [Fact]
    public async Task ARunCancelledWhileQueued_IsDropped_AndOneCancelledWhileItsWorkerRanIt_EndsAbortedWithoutRunning()
    {
        var queued = Queued("noop", new Noop());
        var wasRunning = Queued("noop", new Noop());
        await _store.UpsertRunsAsync([queued.ToEvent("w") with { State = TaskState.Aborted, Error = "cancelled: not wanted" }], CancellationToken.None);
        await _store.RequestCancelAsync(queued.Id, "not wanted", CancellationToken.None);
        await _store.RequestCancelAsync(wasRunning.Id, "too long", CancellationToken.None);

        Assert.Equal(ConsumeOutcome.Dropped, await ProcessAsync(queued));
        Assert.Equal(ConsumeOutcome.Finished, await ProcessAsync(wasRunning, redelivered: true));

        Assert.Empty(StatesOf(queued));
        Assert.Equal((TaskState.Aborted, "cancelled: too long"), (wasRunning.State, wasRunning.Error));
        Assert.Equal([TaskState.Aborted], StatesOf(wasRunning));
    }

    [Fact]
    public async Task ARunningRun_Cancelled_EndsAborted_IsNotRetried_AndGivesItsSlotBack()
    {
        var run = Queued("dummy", new Dummy { Sleep = 3600 });
        var running = new TaskCompletionSource();
        _handlers.Register("running.cancel", r => running.TrySetResult());

        var processing = ProcessAsync(run);
        await running.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(_cancellations.Cancel(run.Id, "stop it"));

        Assert.Equal(ConsumeOutcome.Finished, await processing.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal((TaskState.Aborted, "cancelled: stop it"), (run.State, run.Error));
        Assert.Equal([TaskState.Running, TaskState.Aborted], StatesOf(run));
        Assert.Empty(_sender.Sent);
        Assert.Equal(0, _running.Count);
        Assert.Equal(0, _cancellations.Count);
        Assert.True(await _store.TryAcquireSlotAsync("dummy", "next", 1, TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    private TaskRun Queued(string task, object parameters, int retryAttempt = 0, Guid? id = null, DateTimeOffset? expires = null) =>
        RunFactory.FromHeader(
            id ?? Guid.NewGuid(), task, new RunHeader(_time.GetUtcNow(), TaskPriority.Medium, retryAttempt, 0, "", "", null, task) { ExpiresAt = expires }, parameters, redelivered: false);

    private static TaskRun Tick(Guid id) =>
        RunFactory.FromHeader(id, "noop", new RunHeader(T0, TaskPriority.Medium, 0, 0, "", "", T0, "noop"), new Noop(), redelivered: false);

    private List<TaskState> StatesOf(TaskRun run)
    {
        lock (_events)
            return [.. _events.Where(e => e.Id == run.Id).Select(e => e.State)];
    }

    private Task<ConsumeOutcome> ProcessAsync(TaskRun run, bool redelivered = false) =>
        _processor.ProcessAsync(_registry.Get(run.Task), run, new Delivery(redelivered, null), CancellationToken.None);

    private sealed class RecordingSender : IRunSender
    {
        public List<(TaskRun Run, TimeSpan Delay)> Sent { get; } = [];

        /// <summary>Sends refused before the next one is taken, as by a broker that does not take messages.</summary>
        public int Refuse { get; set; }

        /// <summary>What the next send throws, as a broker that refuses it for good (a nack, a channel closed on it).</summary>
        public Exception? Fail { get; set; }

        public Task SendAsync(TaskDescriptor task, TaskRun run, TimeSpan delay, RunReply? reply, CancellationToken cancellationToken)
        {
            if (Fail is { } failure)
                return Task.FromException(failure);
            if (Refuse > 0)
            {
                Refuse--;
                return Task.FromException(new TaskQueueException("not confirmed (test)") { NotConfirmed = true });
            }
            Sent.Add((run, delay));
            return Task.CompletedTask;
        }

        public Task<TaskRunEvent> RequestAsync(TaskDescriptor task, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }

    private sealed class NoQueue : IRunQueue
    {
        public Task<TaskRun> QueueAsync(TaskRun run, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
