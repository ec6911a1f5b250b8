using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TaskBus.Contracts;
using TaskBus.IntegrationTests.Support;
using TaskBus.Serialization;

namespace TaskBus.IntegrationTests;

/// <summary>aio-fluid's queue control on RabbitMQ: the queue's counts per priority, and clearing it, all or one priority.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class QueueControlTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task WaitingRuns_AreCountedPerPriority_AndClearedByPriorityOrAll_EachRemovedRunEndsAborted_TheRestStillRun()
    {
        var queue = RabbitMqFixture.NewQueueName("clear");
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit);
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue);
            var manager = publisher.Manager;
            async Task<List<string>> QueueAsync(TaskPriority priority, int count)
            {
                var ids = new List<string>();
                for (var i = 0; i < count; i++)
                    ids.Add((await manager.QueueAsync("noop", priority: priority)).Id);
                return ids;
            }
            var high = await QueueAsync(TaskPriority.High, 3);
            var medium = await QueueAsync(TaskPriority.Medium, 2);
            var low = await QueueAsync(TaskPriority.Low, 4);

            // The length is live; the management API's counts follow as the broker samples the queue.
            var status = await manager.GetQueueStatusAsync();
            Assert.Equal(queue, status.Queue);
            Assert.Equal(9, status.Length);
            Assert.Equal(new TaskPriorityCounts(3, 2, 4), await CountsAsync(manager, new TaskPriorityCounts(3, 2, 4)));
            Assert.StartsWith("RabbitMQ management API", (await manager.GetQueueStatusAsync()).Source, StringComparison.Ordinal);

            // Medium through HTTP on a process that only queues; /tasks-status shows the counts too.
            var port = AppProcess.FreePort();
            await using (var api = await AppProcess.StartWorkerAsync(rabbit, queue, "--TaskBus:ConsumeTasks=false", $"--TaskBus:Http:Urls=http://127.0.0.1:{port}"))
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                using (var tasksStatus = await http.GetAsync("/tasks-status"))
                {
                    using var body = JsonDocument.Parse(await tasksStatus.Content.ReadAsStringAsync());
                    var q = body.RootElement.GetProperty("queue");
                    Assert.Equal(9, q.GetProperty("length").GetInt64());
                    Assert.Equal(2, q.GetProperty("byPriority").GetProperty("medium").GetInt64());
                    Assert.Equal(9, body.RootElement.GetProperty("queueLength").GetInt64());
                }
                using (var refused = await http.DeleteAsync("/tasks-queue/urgent"))
                {
                    Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
                    Assert.Contains("'urgent' is not high, medium or low", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                }
                using var cleared = await http.DeleteAsync("/tasks-queue/medium");
                Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
                var clearedBody = await cleared.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal(2, clearedBody.GetProperty("removed").GetInt32());
                Assert.Equal("medium", clearedBody.GetProperty("priority").GetString());
                Assert.Equal(0, await api.StopAsync());
            }
            Assert.Equal(7u, await rabbit.MessageCountAsync(queue));

            // Low through the Publisher CLI; a priority it does not know is one line, exit 2.
            await using (var wrong = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, "clear", "urgent")))
            {
                Assert.Equal(2, await wrong.WaitForExitAsync());
                Assert.Contains("'urgent' is not high, medium or low", wrong.Output, StringComparison.Ordinal);
            }
            await using (var cli = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, "clear", "low")))
            {
                Assert.Equal(0, await cli.WaitForExitAsync());
                using var line = JsonDocument.Parse(cli.StdoutLines.Single());
                Assert.Equal(4, line.RootElement.GetProperty("removed").GetInt32());
            }
            Assert.Equal(3u, await rabbit.MessageCountAsync(queue));

            // Every removed run ends aborted, with the reason, once.
            foreach (var id in medium.Concat(low))
            {
                var aborted = await watcher.WaitForFinal(id);
                Assert.Equal(TaskState.Aborted, aborted.State);
                Assert.Contains($"removed from queue {queue}", aborted.Error, StringComparison.Ordinal);
                Assert.Equal("noop", aborted.Task);
            }

            // The high runs stayed where they were and run once a worker starts; the removed never do.
            await using (var worker = await AppProcess.StartWorkerAsync(rabbit, queue))
            {
                foreach (var id in high)
                    Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(id)).State);
            }
            Assert.Equal(0u, await rabbit.MessageCountAsync(queue));
            foreach (var id in medium.Concat(low))
                Assert.DoesNotContain(watcher.EventsOf(id), e => e.State == TaskState.Running);

            // Everything, through the manager.
            var more = (await QueueAsync(TaskPriority.High, 1)).Concat(await QueueAsync(TaskPriority.Low, 2)).ToList();
            Assert.Equal(3, await manager.ClearQueueAsync());
            Assert.Equal(0u, await rabbit.MessageCountAsync(queue));
            foreach (var id in more)
                Assert.Equal(TaskState.Aborted, (await watcher.WaitForFinal(id)).State);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    /// <summary>The counts per priority once they equal <paramref name="expected"/>, or the last read after 30 s.</summary>
    private static async Task<TaskPriorityCounts?> CountsAsync(TaskManager manager, TaskPriorityCounts expected)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        TaskPriorityCounts? counts = null;
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        do
        {
            counts = (await manager.GetQueueStatusAsync()).ByPriority;
            if (counts == expected)
                break;
        }
        while (await poll.WaitForNextTickAsync(CancellationToken.None) && !deadline.IsCancellationRequested);
        return counts;
    }
}
