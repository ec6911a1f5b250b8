using System.Text.Json;
using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using TaskBus.Serialization;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class CrossProcessTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task PublisherQueueWait_ForAddRunByAWorkerProcess_ReturnsSuccess()
    {
        var queue = RabbitMqFixture.NewQueueName("wait");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue);

            await using var publisher = AppProcess.Start("TaskBus.Publisher",
                AppProcess.PublisherArgsFor(rabbit, queue, "queue", "add", "--param", "a=3", "--param", "b=4", "--wait", "--timeout", "60"));

            Assert.Equal(0, await publisher.WaitForExitAsync());
            var run = JsonSerializer.Deserialize<TaskRunEvent>(publisher.StdoutLines.Single(), TaskBusJson.Options)!;
            Assert.Equal(TaskState.Success, run.State);
            Assert.Equal("add", run.Task);
            Assert.Equal(7, run.Params!.Value.GetProperty("a").GetDouble() + run.Params!.Value.GetProperty("b").GetDouble());
            Assert.NotNull(run.End);
            await worker.WaitForLineAsync(l => l.Contains("3+4=7", StringComparison.Ordinal));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task PublisherQueueWait_Failure_ExitsOne()
    {
        var queue = RabbitMqFixture.NewQueueName("waitfail");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue);

            await using var publisher = AppProcess.Start("TaskBus.Publisher",
                AppProcess.PublisherArgsFor(rabbit, queue, "queue", "dummy", "--params", """{"sleep":0,"error":true}""", "--wait"));

            Assert.Equal(1, await publisher.WaitForExitAsync());
            var run = JsonSerializer.Deserialize<TaskRunEvent>(publisher.StdoutLines.Single(), TaskBusJson.Options)!;
            Assert.Equal(TaskState.Failure, run.State);
            Assert.Equal("InvalidOperationException: dummy error", run.Error);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Theory]
    [InlineData("nosuch", "Task nosuch not found")]
    [InlineData("add", "invalid params for task 'add'")]
    public async Task PublisherQueue_UnknownTaskOrBadParams_ExitsTwoWithoutPublishing(string task, string error)
    {
        await using var watcher = await EventWatcher.StartAsync(rabbit);

        await using var publisher = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, RabbitMqFixture.NewQueueName("unused"), "queue", task, "--param", "a=1"));

        Assert.Equal(2, await publisher.WaitForExitAsync());
        Assert.Contains(error, publisher.Output, StringComparison.Ordinal);
        Assert.Empty(publisher.StdoutLines);
        Assert.DoesNotContain(watcher.Events, e => e.Task == task);
    }

    [Fact]
    public async Task WatchProcess_SeesQueuedRunningSuccess_ForARunQueuedByAnotherProcess()
    {
        var queue = RabbitMqFixture.NewQueueName("watch");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue);
            await using var watch = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, "watch", "--json", "--task", "add"));
            await watch.WaitForLineAsync(l => l.Contains("Watching", StringComparison.Ordinal));

            await using var publisher = AppProcess.Start("TaskBus.Publisher",
                AppProcess.PublisherArgsFor(rabbit, queue, "queue", "add", "--params", """{"a":1,"b":2}"""));
            Assert.Equal(0, await publisher.WaitForExitAsync());
            var queued = JsonSerializer.Deserialize<TaskRunEvent>(publisher.StdoutLines.Single(), TaskBusJson.Options)!;
            Assert.Equal(TaskState.Queued, queued.State);

            await watch.WaitForLineAsync(l => l.Contains(queued.Id, StringComparison.Ordinal) && l.Contains("\"success\"", StringComparison.Ordinal));
            var states = watch.StdoutLines
                .Select(l => JsonSerializer.Deserialize<TaskRunEvent>(l, TaskBusJson.Options)!)
                .Where(e => e.Id == queued.Id)
                .Select(e => e.State)
                .ToList();
            Assert.Contains(TaskState.Queued, states);
            Assert.Contains(TaskState.Running, states);
            Assert.Contains(TaskState.Success, states);
            Assert.Equal(0, await watch.StopAsync());
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task PlainMassTransitPublish_OfAdd_RunsAsTaskAddWithTheMessageIdAndAllEvents()
    {
        var queue = RabbitMqFixture.NewQueueName("plain");
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue);
            // The watcher's bus is a plain MassTransit bus: it knows only MassTransit and TaskBus.Contracts.
            await using var service = await EventWatcher.StartAsync(rabbit, queue);
            var messageId = NewId.NextGuid();

            await service.Bus.Publish(new Add { A = 20, B = 22 }, context => context.MessageId = messageId);

            var runId = messageId.ToString("N");
            var final = await service.WaitForFinal(runId);
            Assert.Equal(TaskState.Success, final.State);
            Assert.Equal("add", final.Task);
            Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success], service.EventsOf(runId).Select(e => e.State));
            await worker.WaitForLineAsync(l => l.Contains("20+22=42", StringComparison.Ordinal));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }
}
