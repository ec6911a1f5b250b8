using System.Text.RegularExpressions;
using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed partial class IsolationTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    [Fact]
    public async Task IsolatedTaskSpinningPastItsTimeout_EndsFailureWithinEightSeconds_AndItsChildIsGone()
    {
        var queue = RabbitMqFixture.NewQueueName("isolated");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue);
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var id = NewId.NextGuid();

            await watcher.Bus.Publish(new Spin { Seconds = 60 }, c => c.MessageId = id);
            var final = await watcher.WaitForFinal(id.ToString("N"));

            Assert.Equal(TaskState.Failure, final.State);
            Assert.Equal("TimeoutException: task spin timed out after 2 s", final.Error);
            Assert.True(final.End - final.Start < TimeSpan.FromSeconds(8), $"ended after {final.End - final.Start}");
            var started = await worker.WaitForLineAsync(l => l.Contains("runs in child process", StringComparison.Ordinal));
            var pid = int.Parse(ChildPid().Match(started).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(Directory.Exists($"/proc/{pid}"), $"child process {pid} is still there");
            output.WriteLine($"spin(60 s) with a 2 s timeout ended {final.State} after {(final.End - final.Start)!.Value.TotalSeconds:0.00} s; child {pid} gone");
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task IsolatedTaskFinishingInTime_Succeeds_WithItsOutputInTheWorkersLog()
    {
        var queue = RabbitMqFixture.NewQueueName("isolated-ok");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue);
            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var id = NewId.NextGuid();

            await watcher.Bus.Publish(new Spin { Seconds = 0.2 }, c => c.MessageId = id);

            Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(id.ToString("N"))).State);
            // The child's own output, with the task's environment variable, is streamed to the worker's log.
            await worker.WaitForLineAsync(l => l.Contains("spun ", StringComparison.Ordinal) && l.Contains("(spin)", StringComparison.Ordinal));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [GeneratedRegex(@"runs in child process (\d+)")]
    private static partial Regex ChildPid();
}
