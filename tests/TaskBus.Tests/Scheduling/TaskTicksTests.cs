using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using TaskBus.Contracts;
using TaskBus.Scheduling;
using TaskBus.Storage;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Scheduling;

public sealed class TaskTicksTests : IAsyncLifetime
{
    private TestServices _services = null!;
    private RunRecorder _recorder = null!;

    public async Task InitializeAsync()
    {
        _services = await TestServices.StartAsync();
        _recorder = new RunRecorder(_services.Manager);
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    [Fact]
    public async Task QueueAsync_OneTickFiredTwice_RunsOnce_WithTheTickAsScheduledFor()
    {
        var ticks = new TaskTicks(_services.Manager, _services.Provider.GetRequiredService<ITaskStore>(), TimeProvider.System, NullLogger<TaskTicks>.Instance);
        var tick = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        var id = TaskTicks.RunId("taskbus-tasks", "noop", tick).ToString("N");

        await ticks.QueueAsync("noop", tick, CancellationToken.None);
        await ticks.QueueAsync("noop", tick, CancellationToken.None);
        var final = await _recorder.WaitForFinal(id);
        // Both messages of the tick were consumed; the second was dropped.
        var consumed = 0;
        await foreach (var _ in _services.Harness.Consumed.SelectAsync<Contracts.Tasks.Noop>(x => x.Context.MessageId == Guid.Parse(id)))
        {
            if (++consumed == 2)
                break;
        }

        Assert.Equal(TaskState.Success, final.State);
        Assert.Equal(tick, final.ScheduledFor);
        Assert.Single(_recorder.Events, e => e.Id == id && e.State == TaskState.Running);
    }

    [Fact]
    public async Task QueueAsync_CrontabWithBothDayFields_QueuesNoRunForAFireOnAnotherWeekday()
    {
        await using var services = await TestServices.StartAsync(o => o.Schedules["noop"] = "0 8 13 * 5");
        var recorder = new RunRecorder(services.Manager);
        var ticks = new TaskTicks(services.Manager, services.Provider.GetRequiredService<ITaskStore>(), services.Provider.GetRequiredService<TimeProvider>(), NullLogger<TaskTicks>.Instance);
        var tuesday13th = new DateTimeOffset(2026, 1, 13, 8, 0, 0, TimeSpan.Zero);
        var friday13th = new DateTimeOffset(2026, 2, 13, 8, 0, 0, TimeSpan.Zero);

        await ticks.QueueAsync("noop", tuesday13th, CancellationToken.None);
        await ticks.QueueAsync("noop", friday13th, CancellationToken.None);
        var ran = await recorder.WaitForFinal(TaskTicks.RunId("taskbus-tasks", "noop", friday13th).ToString("N"));

        Assert.Equal(TaskState.Success, ran.State);
        var dropped = TaskTicks.RunId("taskbus-tasks", "noop", tuesday13th).ToString("N");
        Assert.DoesNotContain(recorder.Events, e => e.Id == dropped);
    }

    [Theory]
    [InlineData("Schedules")]
    [InlineData("Retries")]
    public async Task ASettingForATaskThatDoesNotExist_StopsStartUp_NamingTheKey(string section)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => TestServices.StartAsync(o =>
        {
            if (section == "Schedules")
                o.Schedules["nosuch"] = "00:00:01";
            else
                o.Retries["nosuch"] = new RetryOptions { MaxAttempts = 2 };
        }));

        Assert.Equal($"TaskBus:{section}:nosuch: no task is named nosuch.", Assert.Single(error.Failures));
    }

    [Fact]
    public void RunId_DependsOnGroupTaskAndTick()
    {
        var tick = DateTimeOffset.UnixEpoch.AddDays(20_000);

        Assert.Equal(TaskTicks.RunId("a", "ping", tick), TaskTicks.RunId("a", "ping", tick));
        Assert.NotEqual(TaskTicks.RunId("a", "ping", tick), TaskTicks.RunId("b", "ping", tick));
        Assert.NotEqual(TaskTicks.RunId("a", "ping", tick), TaskTicks.RunId("a", "ping", tick.AddSeconds(1)));
    }
}
