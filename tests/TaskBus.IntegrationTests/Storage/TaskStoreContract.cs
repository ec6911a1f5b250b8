using System.Text.Json;
using TaskBus.Contracts;
using TaskBus.Storage;

namespace TaskBus.IntegrationTests.Storage;

/// <summary>What every <see cref="ITaskStore"/> must do; each provider runs it against its own store.</summary>
public abstract class TaskStoreContract : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 21, 0, 0, TimeSpan.Zero);

    private protected ITaskStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Store = await CreateStoreAsync();
        await Store.InitializeAsync(CancellationToken.None);
    }

    public virtual Task DisposeAsync() => Store is IAsyncDisposable disposable ? disposable.DisposeAsync().AsTask() : Task.CompletedTask;

    private protected abstract Task<ITaskStore> CreateStoreAsync();

    [Fact]
    public async Task UpsertRuns_ThenGetRun_RoundTripsEveryField()
    {
        var run = Run("dummy", TaskState.Failure, T0) with
        {
            Priority = TaskPriority.High,
            Params = JsonDocument.Parse("""{"sleep":0.1,"error":true,"abort":false}""").RootElement,
            Start = T0.AddSeconds(1),
            End = T0.AddSeconds(2),
            DurationMs = 1000.25,
            FromRunId = "parent",
            RootRunId = "root",
            RetryAttempt = 2,
            RateLimitAttempt = 1,
            Error = "InvalidOperationException: dummy error",
            Worker = "host-1",
            Redelivered = true,
            ScheduledFor = T0.AddMilliseconds(-500),
            Due = T0.AddMilliseconds(-100),
            Progress = 0.75,
            ProgressMessage = "three quarters",
            Queue = "jobs",
            WillRetry = true,
        };

        await Store.UpsertRunsAsync([run], CancellationToken.None);
        var stored = await Store.GetRunAsync(run.Id, CancellationToken.None);

        Assert.NotNull(stored);
        Assert.Equal(run with { Params = null }, stored with { Params = null });
        Assert.Equal(0.1, stored.Params!.Value.GetProperty("sleep").GetDouble());
        Assert.True(stored.Params.Value.GetProperty("error").GetBoolean());
        Assert.Null(await Store.GetRunAsync("nosuch", CancellationToken.None));
    }

    [Fact]
    public async Task UpsertRuns_EveryStateChange_KeepsTheLatest_AndALateOlderChangeIsIgnored()
    {
        var queued = Run("add", TaskState.Queued, T0);
        var running = queued with { State = TaskState.Running, Start = T0.AddSeconds(1) };
        var success = running with { State = TaskState.Success, End = T0.AddSeconds(2), DurationMs = 1000 };

        await Store.UpsertRunsAsync([queued], CancellationToken.None);
        Assert.Equal(TaskState.Queued, (await Store.GetRunAsync(queued.Id, CancellationToken.None))!.State);
        await Store.UpsertRunsAsync([running], CancellationToken.None);
        Assert.Null((await Store.GetRunAsync(queued.Id, CancellationToken.None))!.End);
        await Store.UpsertRunsAsync([success, queued], CancellationToken.None);

        var stored = await Store.GetRunAsync(queued.Id, CancellationToken.None);
        Assert.Equal(TaskState.Success, stored!.State);
        Assert.Equal(T0.AddSeconds(2), stored.End);
    }

    [Fact]
    public async Task UpsertRuns_TheFirstFinalStateOfARound_IsKept_ExceptInterrupted_WhichTheRunGoesOnFrom()
    {
        var running = Run("add", TaskState.Running, T0) with { Start = T0.AddSeconds(1) };
        var aborted = running with { State = TaskState.Aborted, End = T0.AddSeconds(2), Error = "cancelled: no longer wanted" };
        var lateSuccess = running with { State = TaskState.Success, End = T0.AddSeconds(3), Worker = "other" };
        var interrupted = Run("add", TaskState.Interrupted, T0) with { End = T0.AddSeconds(2) };
        var rerun = interrupted with { State = TaskState.Success, End = T0.AddSeconds(9), Redelivered = true };

        await Store.UpsertRunsAsync([aborted], CancellationToken.None);
        await Store.UpsertRunsAsync([lateSuccess], CancellationToken.None);
        await Store.UpsertRunsAsync([interrupted], CancellationToken.None);
        await Store.UpsertRunsAsync([rerun], CancellationToken.None);

        var kept = await Store.GetRunAsync(aborted.Id, CancellationToken.None);
        Assert.Equal((TaskState.Aborted, "cancelled: no longer wanted", "test"), (kept!.State, kept.Error, kept.Worker));
        var resumed = await Store.GetRunAsync(interrupted.Id, CancellationToken.None);
        Assert.Equal((TaskState.Success, true), (resumed!.State, resumed.Redelivered));
    }

    [Fact]
    public async Task UpsertRuns_ACancelledRun_KeepsItsAbortedForGood()
    {
        var run = Run("add", TaskState.Queued, T0);
        await Store.UpsertRunsAsync([run, run with { State = TaskState.Aborted, Error = "cancelled: no" }], CancellationToken.None);

        await Store.UpsertRunsAsync([run with { State = TaskState.Queued, RetryAttempt = 1 }, run with { State = TaskState.Success, RateLimitAttempt = 1 }], CancellationToken.None);

        var stored = (await Store.GetRunAsync(run.Id, CancellationToken.None))!;
        Assert.Equal((TaskState.Aborted, "cancelled: no", 0), (stored.State, stored.Error, stored.RetryAttempt));
    }

    [Fact]
    public async Task UpsertRuns_ARetry_StartsANewRoundOfTheSameRun()
    {
        var failed = Run("retryable", TaskState.Failure, T0) with { End = T0.AddSeconds(1) };
        var retried = Run("retryable", TaskState.Queued, T0.AddSeconds(2)) with { Id = failed.Id, RetryAttempt = 1 };

        await Store.UpsertRunsAsync([failed, retried], CancellationToken.None);

        var stored = await Store.GetRunAsync(failed.Id, CancellationToken.None);
        Assert.Equal((TaskState.Queued, 1), (stored!.State, stored.RetryAttempt));
        // The failure the retry replaced is still the task's last finished run.
        Assert.Equal(TaskState.Failure, (await Store.GetTaskAsync("retryable", CancellationToken.None)).LastRunState);
    }

    [Fact]
    public async Task FinishedRuns_SetTheTasksLastRun_NewestEndWins()
    {
        Assert.Equal(new StoredTask { Name = "dummy" }, await Store.GetTaskAsync("dummy", CancellationToken.None));
        var newer = Run("dummy", TaskState.Success, T0) with { End = T0.AddSeconds(10), DurationMs = 5 };
        var older = Run("dummy", TaskState.Failure, T0) with { End = T0.AddSeconds(3), DurationMs = 7 };

        await Store.UpsertRunsAsync([newer, older], CancellationToken.None);

        var task = await Store.GetTaskAsync("dummy", CancellationToken.None);
        Assert.Equal((T0.AddSeconds(10), 5.0, TaskState.Success), (task.LastRunEnd, task.LastRunDurationMs, task.LastRunState));
        Assert.True(task.Enabled);
    }

    [Fact]
    public async Task SetEnabled_IsKeptPerTask()
    {
        await Store.SetEnabledAsync("add", false, CancellationToken.None);

        Assert.False((await Store.GetTaskAsync("add", CancellationToken.None)).Enabled);
        Assert.True((await Store.GetTaskAsync("dummy", CancellationToken.None)).Enabled);
        await Store.SetEnabledAsync("add", true, CancellationToken.None);
        Assert.True((await Store.GetTaskAsync("add", CancellationToken.None)).Enabled);
    }

    [Fact]
    public async Task QueryRuns_ByWorkerGroup_KeepsItsOwnAndThoseStoredWithoutAGroup()
    {
        var (a, b, none) = (Run("add", TaskState.Running, T0) with { Queue = "a" }, Run("add", TaskState.Success, T0.AddSeconds(1)) with { Queue = "b" },
            Run("add", TaskState.Success, T0.AddSeconds(2)));
        await Store.UpsertRunsAsync([a, b, none], CancellationToken.None);
        // A later change told by a process that does not know the group keeps the group stored.
        await Store.UpsertRunsAsync([a with { State = TaskState.Success, End = T0.AddSeconds(3), Queue = "" }], CancellationToken.None);

        var ofA = await Store.QueryRunsAsync(new TaskRunQuery { Queue = "a" }, CancellationToken.None);
        var every = await Store.QueryRunsAsync(new TaskRunQuery(), CancellationToken.None);

        Assert.Equal([none.Id, a.Id], ofA.Runs.Select(r => r.Id));
        Assert.Equal(3, every.Runs.Count);
        Assert.Equal((TaskState.Success, "a"), await Store.GetRunAsync(a.Id, CancellationToken.None) is { } stored ? (stored.State, stored.Queue) : default);
    }

    [Fact]
    public async Task QueryRuns_NewestFirst_FilteredAndPagedByCursor()
    {
        var runs = Enumerable.Range(0, 7)
            .Select(i => Run(i % 2 == 0 ? "add" : "dummy", i % 3 == 0 ? TaskState.Failure : TaskState.Success, T0.AddMinutes(i)))
            .ToList();
        await Store.UpsertRunsAsync(runs, CancellationToken.None);

        var all = await Store.QueryRunsAsync(new TaskRunQuery { Limit = 100 }, CancellationToken.None);
        Assert.Equal(runs.Select(r => r.Id).Reverse(), all.Runs.Select(r => r.Id));
        Assert.Null(all.Next);

        var adds = await Store.QueryRunsAsync(new TaskRunQuery { Task = "add" }, CancellationToken.None);
        Assert.Equal([6, 4, 2, 0], adds.Runs.Select(r => runs.IndexOf(runs.Single(x => x.Id == r.Id))));
        var failures = await Store.QueryRunsAsync(new TaskRunQuery { State = TaskState.Failure }, CancellationToken.None);
        Assert.Equal([6, 3, 0], failures.Runs.Select(r => runs.FindIndex(x => x.Id == r.Id)));
        var window = await Store.QueryRunsAsync(new TaskRunQuery { From = T0.AddMinutes(2), To = T0.AddMinutes(5) }, CancellationToken.None);
        Assert.Equal([4, 3, 2], window.Runs.Select(r => runs.FindIndex(x => x.Id == r.Id)));

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Store.QueryRunsAsync(new TaskRunQuery { Limit = 2, Cursor = cursor }, CancellationToken.None);
            Assert.InRange(page.Runs.Count, 1, 2);
            seen.AddRange(page.Runs.Select(r => r.Id));
            cursor = page.Next;
            pages++;
        }
        while (cursor is not null);
        Assert.Equal(4, pages);
        Assert.Equal(all.Runs.Select(r => r.Id), seen);
    }

    [Fact]
    public async Task QueryRuns_ByTasksAndParamsContainment_AsPostgreSqlHasIt()
    {
        TaskRunEvent With(string task, string json, int minute) =>
            Run(task, TaskState.Success, T0.AddMinutes(minute)) with { Params = JsonDocument.Parse(json).RootElement };
        var runs = new[]
        {
            With("add", """{"a":1,"b":2}""", 0),
            With("add", """{"a":1,"b":3}""", 1),
            With("add", """{"a":1.0,"b":3}""", 2),
            With("dummy", """{"sleep":0.1,"tags":["x","y"],"user":{"name":"ann","id":7}}""", 3),
            With("dummy", """{"sleep":0.1,"tags":["y"],"user":{"name":"bob","id":8}}""", 4),
            With("fast", """{}""", 5),
        };
        await Store.UpsertRunsAsync(runs, CancellationToken.None);
        // The matching runs' indexes, newest first.
        async Task<string> Matching(TaskRunQuery query) =>
            string.Join(' ', (await Store.QueryRunsAsync(query, CancellationToken.None)).Runs.Select(r => Array.FindIndex(runs, x => x.Id == r.Id)));
        JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

        Assert.Equal("5 4 3", await Matching(new TaskRunQuery { Tasks = ["dummy", "fast"] }));
        Assert.Equal("4 3", await Matching(new TaskRunQuery { Tasks = ["dummy", "fast"], Task = "dummy" }));
        Assert.Empty(await Matching(new TaskRunQuery { Tasks = [] }));
        Assert.Equal("2 1", await Matching(new TaskRunQuery { Params = Json("""{"b":3}""") }));
        // Numbers compare by value: 1 and 1.0 are one number.
        Assert.Equal("2 1 0", await Matching(new TaskRunQuery { Params = Json("""{"a":1}""") }));
        Assert.Equal("1", await Matching(new TaskRunQuery { Params = Json("""{"a":1,"b":3}"""), To = T0.AddMinutes(2) }));
        Assert.Equal("3", await Matching(new TaskRunQuery { Params = Json("""{"user":{"name":"ann"}}""") }));
        Assert.Equal("3", await Matching(new TaskRunQuery { Params = Json("""{"tags":["x"]}""") }));
        Assert.Equal("4 3", await Matching(new TaskRunQuery { Params = Json("""{"tags":["y"]}""") }));
        Assert.Equal("5 4 3 2 1 0", await Matching(new TaskRunQuery { Params = Json("{}") }));
        Assert.Empty(await Matching(new TaskRunQuery { Params = Json("""{"a":"1"}""") }));
        Assert.Empty(await Matching(new TaskRunQuery { Params = Json("""{"user":{"name":"ann","id":8}}""") }));
    }

    [Fact]
    public async Task Slots_AtMostMaxPerTask_ReleasedOrExpired()
    {
        var lease = TimeSpan.FromMinutes(5);
        Assert.True(await Store.TryAcquireSlotAsync("dummy", "r1", 2, lease, CancellationToken.None));
        Assert.True(await Store.TryAcquireSlotAsync("dummy", "r2", 2, lease, CancellationToken.None));
        Assert.False(await Store.TryAcquireSlotAsync("dummy", "r3", 2, lease, CancellationToken.None));
        Assert.True(await Store.TryAcquireSlotAsync("add", "r3", 2, lease, CancellationToken.None));
        Assert.True(await Store.TryAcquireSlotAsync("dummy", "r1", 2, lease, CancellationToken.None));

        await Store.ReleaseSlotAsync("dummy", "r1", CancellationToken.None);
        Assert.True(await Store.TryAcquireSlotAsync("dummy", "r3", 2, lease, CancellationToken.None));

        // A slot whose lease ran out (its worker died) is free again.
        Assert.True(await Store.TryAcquireSlotAsync("fast", "dead", 1, TimeSpan.FromMilliseconds(-1), CancellationToken.None));
        Assert.True(await Store.TryAcquireSlotAsync("fast", "next", 1, lease, CancellationToken.None));
    }

    [Fact]
    public async Task TryClaim_TheFirstCallerOnly()
    {
        Assert.True(await Store.TryClaimAsync("tick-1", CancellationToken.None));
        Assert.False(await Store.TryClaimAsync("tick-1", CancellationToken.None));
        Assert.True(await Store.TryClaimAsync("tick-2", CancellationToken.None));
    }

    [Fact]
    public async Task Prune_ForgetsClaimsAndWorkersOlderThanTheCutoff_AndKeepsNewerOnes()
    {
        var now = DateTimeOffset.UtcNow;
        Assert.True(await Store.TryClaimAsync("old-tick", CancellationToken.None));
        await Store.HeartbeatAsync(new WorkerStatus { Id = "gone-1", Host = "h", LastHeartbeat = now.AddHours(-2) }, CancellationToken.None);
        await Store.HeartbeatAsync(new WorkerStatus { Id = "live-1", Host = "h", LastHeartbeat = now }, CancellationToken.None);

        await Store.PruneAsync(now.AddHours(-1), CancellationToken.None);
        Assert.False(await Store.TryClaimAsync("old-tick", CancellationToken.None));
        Assert.Equal(["live-1"], (await Store.GetWorkersAsync(DateTimeOffset.MinValue, CancellationToken.None)).Select(w => w.Id));
        await Store.PruneAsync(DateTimeOffset.UtcNow.AddSeconds(1), CancellationToken.None);

        Assert.True(await Store.TryClaimAsync("old-tick", CancellationToken.None));
        Assert.Empty(await Store.GetWorkersAsync(DateTimeOffset.MinValue, CancellationToken.None));
    }

    [Fact]
    public async Task Cancels_AreRecordedOnce_AndReadInOrderAfterACursor()
    {
        var (none, start) = await Store.GetCancelsAsync(null, CancellationToken.None);
        Assert.Empty(none);

        Assert.True(await Store.RequestCancelAsync("run-a", "first reason", CancellationToken.None));
        Assert.False(await Store.RequestCancelAsync("run-a", "second reason", CancellationToken.None));
        Assert.True(await Store.RequestCancelAsync("run-b", "other", CancellationToken.None));
        var (cancels, cursor) = await Store.GetCancelsAsync(start, CancellationToken.None);

        Assert.Equal([("run-a", "first reason"), ("run-b", "other")], cancels.Select(c => (c.RunId, c.Reason)));
        Assert.Equal(cancels[^1].Seq, cursor);
        // Read again, nothing new: the last seconds' may come again (a number can commit after a greater one), no other.
        var (again, same) = await Store.GetCancelsAsync(cursor, CancellationToken.None);
        Assert.Equal(cursor, same);
        Assert.All(again, c => Assert.Contains(c, cancels));
    }

    [Fact]
    public async Task Standings_NameOnlyRunsThatEnded_OrWereCancelled()
    {
        var queued = Run("add", TaskState.Queued, T0);
        var ended = Run("add", TaskState.Success, T0) with { RetryAttempt = 2 };
        var interrupted = Run("add", TaskState.Interrupted, T0);
        var cancelled = Run("add", TaskState.Aborted, T0);
        var cancelledRunning = Run("add", TaskState.Running, T0);
        await Store.UpsertRunsAsync([queued, ended, interrupted, cancelled, cancelledRunning], CancellationToken.None);
        await Store.RequestCancelAsync(cancelled.Id, "stop", CancellationToken.None);
        await Store.RequestCancelAsync(cancelledRunning.Id, "halt", CancellationToken.None);
        await Store.RequestCancelAsync("never-stored", "early", CancellationToken.None);

        var standings = await Store.GetStandingsAsync(
            [queued.Id, ended.Id, interrupted.Id, cancelled.Id, cancelledRunning.Id, "never-stored", "unknown"], CancellationToken.None);

        Assert.Equal(4, standings.Count);
        Assert.Equal(new RunStanding(TaskState.Success, 2, null), standings[ended.Id]);
        Assert.Equal(new RunStanding(TaskState.Aborted, 0, "stop"), standings[cancelled.Id]);
        Assert.Equal(new RunStanding(null, 0, "halt"), standings[cancelledRunning.Id]);
        Assert.Equal(new RunStanding(null, 0, "early"), standings["never-stored"]);
    }

    [Fact]
    public async Task UniqueKeys_OneHolderPerTaskAndKey_UntilItsRunEnds()
    {
        var first = Run("add", TaskState.Queued, T0);
        Assert.Null(await Store.TryHoldKeyAsync("add", "k", first.Id, TimeSpan.FromMinutes(1), CancellationToken.None));
        await Store.UpsertRunsAsync([first], CancellationToken.None);

        Assert.Equal(first.Id, await Store.TryHoldKeyAsync("add", "k", "second", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Null(await Store.TryHoldKeyAsync("add", "k", first.Id, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Null(await Store.TryHoldKeyAsync("other", "k", "third", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Null(await Store.TryHoldKeyAsync("add", "k2", "fourth", TimeSpan.FromMinutes(1), CancellationToken.None));

        await Store.UpsertRunsAsync([first with { State = TaskState.Interrupted }], CancellationToken.None);
        Assert.Equal(first.Id, await Store.TryHoldKeyAsync("add", "k", "second", TimeSpan.FromMinutes(1), CancellationToken.None));
        await Store.UpsertRunsAsync([first with { State = TaskState.Running }, first with { State = TaskState.Failure }], CancellationToken.None);
        Assert.Null(await Store.TryHoldKeyAsync("add", "k", "second", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal("second", await Store.TryHoldKeyAsync("add", "k", "fifth", TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task UniqueKeys_HeldByARunNeverStored_AreTakenOverAfterTheGivenTime()
    {
        Assert.Null(await Store.TryHoldKeyAsync("add", "lost", "ghost", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal("ghost", await Store.TryHoldKeyAsync("add", "lost", "next", TimeSpan.FromMinutes(1), CancellationToken.None));

        Assert.Null(await Store.TryHoldKeyAsync("add", "lost", "next", TimeSpan.Zero, CancellationToken.None));
    }

    [Fact]
    public async Task UniqueKeys_ManyCallersAtOnce_OneHolds()
    {
        var callers = Enumerable.Range(0, 16).Select(i => $"caller-{i}").ToArray();

        var answers = await Task.WhenAll(callers.Select(id => Task.Run(() => Store.TryHoldKeyAsync("add", "race", id, TimeSpan.FromMinutes(1), CancellationToken.None))));

        var holder = Assert.Single(callers.Where((_, i) => answers[i] is null));
        Assert.All(answers.Where(a => a is not null), a => Assert.Equal(holder, a));
    }

    [Fact]
    public async Task Prune_ForgetsOldCancels_AndTheKeysOfEndedRuns()
    {
        var ended = Run("add", TaskState.Success, T0);
        var queued = Run("add", TaskState.Queued, T0);
        await Store.UpsertRunsAsync([ended, queued], CancellationToken.None);
        await Store.TryHoldKeyAsync("add", "ended", ended.Id, TimeSpan.FromMinutes(1), CancellationToken.None);
        await Store.TryHoldKeyAsync("add", "queued", queued.Id, TimeSpan.FromMinutes(1), CancellationToken.None);
        await Store.RequestCancelAsync(queued.Id, "x", CancellationToken.None);

        await Store.PruneAsync(DateTimeOffset.UtcNow.AddHours(-1), CancellationToken.None);
        Assert.Equal(queued.Id, await Store.TryHoldKeyAsync("add", "queued", "other", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Single(await Store.GetStandingsAsync([queued.Id], CancellationToken.None));
        await Store.PruneAsync(DateTimeOffset.UtcNow.AddSeconds(1), CancellationToken.None);

        Assert.Empty(await Store.GetStandingsAsync([queued.Id], CancellationToken.None));
        Assert.Null(await Store.TryHoldKeyAsync("add", "ended", "new", TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task PruneRuns_DeletesRunsThatEndedBeforeTheirCutoff_FailuresByTheirOwn_ABatchAtATime()
    {
        var now = DateTimeOffset.UtcNow;
        TaskRunEvent Ended(TaskState state, TimeSpan ago) => Run("add", state, now - ago - TimeSpan.FromMinutes(1)) with { End = now - ago };
        var oldSuccess = Enumerable.Range(0, 3).Select(_ => Ended(TaskState.Success, TimeSpan.FromDays(3))).ToList();
        var oldAborted = Ended(TaskState.Aborted, TimeSpan.FromDays(3));
        var oldFailure = Ended(TaskState.Failure, TimeSpan.FromDays(3));
        var youngFailure = Ended(TaskState.Failure, TimeSpan.FromDays(1.5));
        var youngSuccess = Ended(TaskState.Success, TimeSpan.FromHours(1));
        var oldInterrupted = Ended(TaskState.Interrupted, TimeSpan.FromDays(3));
        var oldQueued = Run("add", TaskState.Queued, now - TimeSpan.FromDays(3));
        await Store.UpsertRunsAsync([.. oldSuccess, oldAborted, oldFailure, youngFailure, youngSuccess, oldInterrupted, oldQueued], CancellationToken.None);

        var first = await Store.PruneRunsAsync(now - TimeSpan.FromDays(1), now - TimeSpan.FromDays(2), 3, CancellationToken.None);
        var second = await Store.PruneRunsAsync(now - TimeSpan.FromDays(1), now - TimeSpan.FromDays(2), 3, CancellationToken.None);
        var third = await Store.PruneRunsAsync(now - TimeSpan.FromDays(1), now - TimeSpan.FromDays(2), 3, CancellationToken.None);

        Assert.Equal((3, 2, 0), (first, second, third));
        var left = (await Store.QueryRunsAsync(new TaskRunQuery { Limit = 100 }, CancellationToken.None)).Runs.Select(r => r.Id).Order().ToList();
        Assert.Equal(new[] { youngFailure.Id, youngSuccess.Id, oldInterrupted.Id, oldQueued.Id }.Order(), left);
        var size = await Store.GetHistorySizeAsync(CancellationToken.None);
        // PostgreSQL keeps microseconds.
        Assert.Equal((4, oldInterrupted.Queued!.Value.ToUnixTimeMilliseconds()), (size.Runs, size.Oldest!.Value.ToUnixTimeMilliseconds()));
    }

    [Fact]
    public async Task DelayedRuns_AreSentWhenDue_EarliestFirst_AndOnlyThoseTheBrokerTookLeave()
    {
        var now = DateTimeOffset.UtcNow;
        DelayedRun Delayed(string id, string task, double seconds, string queue = "group") => new(id, queue, task, now.AddSeconds(seconds), "header", null, "{}");
        await Store.AddDelayedAsync(Delayed("late", "add", -1), CancellationToken.None);
        await Store.AddDelayedAsync(Delayed("early", "add", -5), CancellationToken.None);
        await Store.AddDelayedAsync(Delayed("future", "add", 60), CancellationToken.None);
        await Store.AddDelayedAsync(Delayed("other-task", "sleep", -5), CancellationToken.None);
        await Store.AddDelayedAsync(Delayed("other-group", "add", -5, "another"), CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.SendDueAsync(now, "group", ["add"], 10, _ => throw new InvalidOperationException("store away"), CancellationToken.None));
        var offered = new List<string>();
        var first = await Store.SendDueAsync(now, "group", ["add"], 10, batch =>
        {
            offered.AddRange(batch.Select(d => d.RunId));
            return Task.FromResult<IReadOnlyCollection<string>>(["early"]);
        }, CancellationToken.None);
        var second = await Store.SendDueAsync(now, "group", ["add"], 10, batch => Task.FromResult<IReadOnlyCollection<string>>([.. batch.Select(d => d.RunId)]), CancellationToken.None);
        var third = await Store.SendDueAsync(now, "group", ["add"], 10, _ => Task.FromResult<IReadOnlyCollection<string>>([]), CancellationToken.None);

        Assert.Equal((1, 1, 0), (first, second, third));
        Assert.Equal(["early", "late"], offered);
        Assert.Equal(["other-task", "future"], (await Store.ListDelayedAsync("group", 10, CancellationToken.None)).Select(d => d.RunId));
        Assert.Equal(["other-group"], (await Store.ListDelayedAsync("another", 10, CancellationToken.None)).Select(d => d.RunId));
        Assert.True(await Store.RemoveDelayedAsync("future", CancellationToken.None));
        Assert.False(await Store.RemoveDelayedAsync("future", CancellationToken.None));
    }

    [Fact]
    public async Task Lock_IsHeldByOneHolderAtATime_AndFreeOnceDisposed()
    {
        var first = await Store.LockAsync("schedules", CancellationToken.None);
        var second = Store.LockAsync("schedules", CancellationToken.None);
        await using (await Store.LockAsync("other", CancellationToken.None))
        {
            // Another name is not held by the first lock.
        }

        Assert.False(second.IsCompleted);
        await first.DisposeAsync();
        await using var taken = await second.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Initialize_AgainAndConcurrently_IsHarmless()
    {
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Store.InitializeAsync(CancellationToken.None)));

        await Store.UpsertRunsAsync([Run("add", TaskState.Queued, T0)], CancellationToken.None);
        Assert.Single((await Store.QueryRunsAsync(new TaskRunQuery(), CancellationToken.None)).Runs);
    }

    private static TaskRunEvent Run(string task, TaskState state, DateTimeOffset queued) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Task = task,
        State = state,
        Queued = queued,
        Params = JsonDocument.Parse("{}").RootElement,
        Worker = "test",
    };
}
