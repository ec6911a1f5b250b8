using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using MassTransit.Testing;
using TaskBus.Contracts.Tasks;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Client;

/// <summary>Acting on runs once they are queued, in one process: cancel, unique keys.</summary>
public sealed class RunControlTests : HarnessTest
{
    [Fact]
    public async Task Cancel_ARunningRun_StopsIt_AbortedWithTheReason_AndItsSlotIsFree()
    {
        var gate = Gates.New();
        var run = await Services.Manager.QueueAsync("held", new Held { Gate = gate });
        await Recorder.WaitFor(e => e.Id == run.Id && e.State == TaskState.Running);

        var outcome = await Services.Manager.CancelAsync(run.Id, "operator said so");

        Assert.Equal((CancelResult.Stopping, TaskState.Running), (outcome.Result, outcome.Run!.State));
        var final = await Recorder.WaitForFinal(run.Id);
        Assert.Equal((TaskState.Aborted, "cancelled: operator said so"), (final.State, final.Error));
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Aborted], Recorder.StatesOf(run.Id));
        // The task's one slot was given back: the next run of it starts and succeeds.
        var next = await Services.Manager.QueueAsync("held", new Held());
        Assert.Equal(TaskState.Success, (await Recorder.WaitForFinal(next.Id)).State);
    }

    [Fact]
    public async Task Cancel_AQueuedRun_EndsItAbortedNow_AndItsMessageIsDroppedWhenItArrives()
    {
        var gate = Gates.New();
        var first = await Services.Manager.QueueAsync("held_retry", new HeldRetry { Gate = gate });
        await Recorder.WaitFor(e => e.Id == first.Id && e.State == TaskState.Running);
        // Over the task's limit of one: its copy waits half a second to be delivered again, still queued.
        var second = Services.Manager.CreateTaskRun("held_retry", new HeldRetry());
        var deliveries = new Deliveries(second.Guid);
        using var observing = Services.Harness.Bus.ConnectConsumeObserver(deliveries);
        await Services.Manager.QueueAsync(second);
        await deliveries.Reached(1).WaitAsync(TimeSpan.FromSeconds(30));

        var outcome = await Services.Manager.CancelAsync(second.Id, "not wanted");
        Gates.Open(gate);

        Assert.Equal((CancelResult.Cancelled, TaskState.Aborted, "cancelled: not wanted"), (outcome.Result, outcome.Run!.State, outcome.Run.Error));
        Assert.Equal(TaskState.Success, (await Recorder.WaitForFinal(first.Id)).State);
        // The copy arrives once the first run ended, and is dropped: no running, no second final state.
        await deliveries.Reached(2).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Aborted], Recorder.StatesOf(second.Id));
    }

    [Fact]
    public async Task Cancel_AnEndedOrUnknownRun_ChangesNothing()
    {
        var run = await Services.Manager.QueueAsync("noop");
        // Its final state is stored before the cancel reads it (the store writer runs behind the consumer).
        await WaitStoredAsync(run.Id);

        var ended = await Services.Manager.CancelAsync(run.Id);
        var unknown = await Services.Manager.CancelAsync(Guid.NewGuid().ToString());

        Assert.Equal((CancelResult.Ended, TaskState.Success), (ended.Result, ended.Run!.State));
        Assert.Equal((CancelResult.NotFound, null), (unknown.Result, unknown.Run));
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success], Recorder.StatesOf(run.Id));
        await Assert.ThrowsAsync<ArgumentException>(() => Services.Manager.CancelAsync("not-a-guid"));
    }

    [Fact]
    public async Task AUniqueKey_WhileItsRunIsQueuedOrRunning_QueuesNothing_AndReturnsThatRun_ThenFreesWhenItEnds()
    {
        var gate = Gates.New();
        var options = new QueueOptions { UniqueKey = "report-42" };
        var first = await Services.Manager.QueueAsync("held", new Held { Gate = gate }, options);
        await Recorder.WaitFor(e => e.Id == first.Id && e.State == TaskState.Running);

        var again = await Services.Manager.QueueAsync("held", new Held { Gate = gate }, options);
        var otherKey = await Services.Manager.QueueAsync("held_unique", new HeldUnique { Gate = gate, Note = "report-42" });

        Assert.True(again.Deduplicated);
        Assert.Equal((first.Id, TaskState.Running, "report-42"), (again.Id, again.State, again.UniqueKey));
        Assert.False(first.Deduplicated);
        Assert.False(otherKey.Deduplicated);
        Gates.Open(gate);
        // Queued again as soon as its success is seen: this process writes what it knows before it reads the key's holder.
        Assert.Equal(TaskState.Success, (await Recorder.WaitForFinal(first.Id)).State);
        var third = await Services.Manager.QueueAsync("held", new Held(), options);
        Assert.False(third.Deduplicated);
        Assert.NotEqual(first.Id, third.Id);
        Assert.Equal(TaskState.Success, (await Recorder.WaitForFinal(third.Id)).State);
        Assert.Single(Recorder.Events, e => e.Id == first.Id && e.State == TaskState.Queued);
    }

    [Fact]
    public async Task AUniqueTask_IsKeyedByItsParams_InAnyOrderOrForm()
    {
        var gate = Gates.New();
        var first = await Services.Manager.QueueAsync("held_unique", $$"""{"gate":"{{gate}}","amount":1,"note":"a"}""", new QueueOptions());
        var same = await Services.Manager.QueueAsync("held_unique", $$"""{"note":"a","amount":1.0,"gate":"{{gate}}"}""", new QueueOptions());
        var other = await Services.Manager.QueueAsync("held_unique", $$"""{"note":"b","amount":1,"gate":"{{gate}}"}""", new QueueOptions());
        Gates.Open(gate);

        Assert.Equal((true, first.Id), (same.Deduplicated, same.Id));
        Assert.False(other.Deduplicated);
        Assert.StartsWith("params:", first.UniqueKey, StringComparison.Ordinal);
        Assert.Equal(TaskState.Success, (await Recorder.WaitForFinal(first.Id)).State);
        Assert.Equal(TaskState.Success, (await Recorder.WaitForFinal(other.Id)).State);
    }

    [Fact]
    public async Task ARunWithAnExpiry_CarriesItToTheWorker()
    {
        var run = await Services.Manager.QueueAsync("noop", null, new QueueOptions { Expires = TimeSpan.FromMinutes(5) });

        Assert.Equal(TaskState.Success, (await Recorder.WaitForFinal(run.Id)).State);
        Assert.Equal(run.Queued!.Value.AddMinutes(5), run.ExpiresAt!.Value, TimeSpan.FromSeconds(1));
        Assert.True(await Services.Harness.Consumed.Any<Noop>(x => x.Context.MessageId == run.Guid && x.Context.Headers.Get<string>("TaskBus-Expires") != null));
    }

    [Fact]
    public async Task Requeue_ARunThatEnded_QueuesANewRunLinkedToIt_ButNotOneStillRunning()
    {
        var gate = Gates.New();
        var failed = await Services.Manager.QueueAsync("failing", new Failing { N = 1 });
        var running = await Services.Manager.QueueAsync("held_unique", new HeldUnique { Gate = gate });
        await Recorder.WaitForFinal(failed.Id);
        await Recorder.WaitFor(e => e.Id == running.Id && e.State == TaskState.Running);

        var again = await Services.Manager.RequeueAsync(failed.Id);
        var refused = await Services.Manager.RequeueAsync(running.Id);
        var unknown = await Services.Manager.RequeueAsync(Guid.NewGuid().ToString());
        Gates.Open(gate);

        Assert.NotNull(again!.NewRunId);
        Assert.Equal((failed.Id, "failing", "InvalidOperationException: failing 1"), (again.Failed.RunId, again.Failed.Task, again.Failed.Reason));
        var rerun = await Recorder.WaitForFinal(again.NewRunId);
        Assert.Equal((TaskState.Failure, failed.Id), (rerun.State, rerun.FromRunId));
        Assert.Null(refused!.NewRunId);
        Assert.Equal($"run {running.Id} is running: only a run that has ended is queued again", refused.Error);
        Assert.Null(unknown);
    }

    [Fact]
    public async Task RequeueRuns_ByFilter_DryRunOnlyCounts_ThenEachMatchIsQueuedAgain_UpToTheLimit()
    {
        var failures = new List<string>();
        for (var i = 0; i < 5; i++)
            failures.Add((await Services.Manager.QueueAsync("failing", new Failing { N = i })).Id);
        var other = await Services.Manager.QueueAsync("noop");
        foreach (var id in failures.Append(other.Id))
            await Recorder.WaitForFinal(id);
        var filter = new RunFilter { Task = "failing", State = TaskState.Failure };

        var dry = await Services.Manager.RequeueRunsAsync(filter, dryRun: true);
        var limited = await Services.Manager.RequeueRunsAsync(filter with { Limit = 2 });

        Assert.Equal(5, dry.Count);
        Assert.All(dry, o => Assert.Equal((null, null), (o.NewRunId, o.Error)));
        Assert.Equal(failures.AsEnumerable().Reverse().Take(2), limited.Select(o => o.Failed.RunId));
        foreach (var outcome in limited)
            Assert.Equal(outcome.Failed.RunId, (await Recorder.WaitForFinal(outcome.NewRunId!)).FromRunId);
        Assert.Equal(7, Recorder.Events.Where(e => e.Task == "failing" && e.State == TaskState.Queued).Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public async Task Requeue_ARunWhoseParamsHoldASecret_IsRefusedNamingIt_NeverQueuedMasked()
    {
        await using var services = await TestServices.StartAsync(tasks: b => b.AddTask<Serialization.LoginTask>());
        var recorder = new RunRecorder(services.Manager);
        var run = await services.Manager.QueueAsync("login", new Serialization.Login { User = "ann", Password = "pw" });
        await recorder.WaitForFinal(run.Id);

        var outcome = await services.Manager.RequeueAsync(run.Id);
        var filtered = await services.Manager.RequeueRunsAsync(new RunFilter { Task = "login" });

        Assert.Null(outcome!.NewRunId);
        Assert.Equal($"run {run.Id}'s params hold the secret 'password', stored masked: they cannot be rebuilt; queue it anew with its params", outcome.Error);
        Assert.Equal(outcome.Error, Assert.Single(filtered).Error);
        Assert.Single(recorder.Events, e => e.State == TaskState.Queued);
    }

    [Fact]
    public async Task ADelayedRun_IsQueuedWithItsDueTime_AndStartsNoEarlier()
    {
        var run = await Services.Manager.QueueAsync("noop", null, new QueueOptions { Delay = TimeSpan.FromMilliseconds(400) });

        Assert.Equal(TaskState.Queued, run.State);
        Assert.NotNull(run.Due);
        var final = await Recorder.WaitForFinal(run.Id);
        Assert.Equal(TaskState.Success, final.State);
        Assert.True(final.Start >= run.Due, $"started {final.Start:O}, due {run.Due:O}");
        Assert.Equal(run.Due, final.Due);
    }

    [Fact]
    public async Task ACancelledDelayedRun_IsNeverSent()
    {
        var run = await Services.Manager.QueueAsync("noop", null, new QueueOptions { At = DateTimeOffset.UtcNow.AddSeconds(1) });
        var deliveries = new Deliveries(run.Guid);
        using var observing = Services.Harness.Bus.ConnectConsumeObserver(deliveries);

        var outcome = await Services.Manager.CancelAsync(run.Id, "changed my mind");
        var after = await Services.Manager.QueueAsync("noop", null, new QueueOptions { Delay = TimeSpan.FromSeconds(1.2) });

        Assert.Equal(CancelResult.Cancelled, outcome.Result);
        // A run due after the cancelled one has run: the cancelled one, due first, was not sent.
        await Recorder.WaitForFinal(after.Id);
        Assert.False(deliveries.Reached(1).IsCompleted);
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Aborted], Recorder.StatesOf(run.Id));
    }

    [Fact]
    public async Task Progress_IsPublishedAtMostOnceASecond_KeptWithTheRun_AndIsNoStateChange()
    {
        var gate = Gates.New();
        var run = await Services.Manager.QueueAsync("reporting", new Reporting { Gate = gate });

        // The first report goes at once; the two made within the second are folded into the latest, sent when it is up.
        Assert.True(await Services.Harness.Published.Any<TaskRunProgress>(x => x.Context.Message.Id == run.Id && x.Context.Message.Fraction == 0.5));
        Gates.Open(gate);
        var final = await Recorder.WaitForFinal(run.Id);
        await Services.Provider.GetRequiredService<TaskBus.Storage.TaskStoreWriter>().FlushAsync();

        var reports = Services.Harness.Published.Select<TaskRunProgress>(x => x.Context.Message.Id == run.Id).Select(x => x.Context.Message).ToList();
        Assert.Equal([(0.1, "starting"), (0.5, "half way")], reports.Select(p => (p.Fraction, p.Message)));
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success], Recorder.StatesOf(run.Id));
        Assert.Equal((0.5, "half way"), (final.Progress, final.ProgressMessage));
        var stored = await Services.Provider.GetRequiredService<TaskBus.Storage.ITaskStore>().GetRunAsync(run.Id, CancellationToken.None);
        Assert.Equal((0.5, "half way"), (stored!.Progress, stored.ProgressMessage));
    }

    /// <summary>Counts the consumed deliveries of one message id.</summary>
    private sealed class Deliveries(Guid messageId) : IConsumeObserver
    {
        private readonly TaskCompletionSource[] _reached = [.. Enumerable.Range(0, 4).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))];
        private int _count;

        public Task Reached(int count) => _reached[count - 1].Task;

        public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

        public Task PostConsume<T>(ConsumeContext<T> context) where T : class
        {
            if (context.MessageId == messageId)
            {
                var count = Interlocked.Increment(ref _count);
                if (count <= _reached.Length)
                    _reached[count - 1].TrySetResult();
            }
            return Task.CompletedTask;
        }

        public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
    }
}
