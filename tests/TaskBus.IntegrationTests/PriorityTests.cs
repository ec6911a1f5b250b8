using TaskBus.Contracts;
using TaskBus.IntegrationTests.Support;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class PriorityTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task QueuedWhileNoWorkerRuns_HighRunsBeforeMediumBeforeLow()
    {
        var queue = RabbitMqFixture.NewQueueName("priority");
        try
        {
            // The first worker declares the priority queue and its bindings, then stops so the runs wait.
            await using (var first = await AppProcess.StartWorkerAsync(rabbit, queue, "--TaskBus:MaxConcurrentTasks=1"))
                Assert.Equal(0, await first.StopAsync());

            await using var watcher = await EventWatcher.StartAsync(rabbit, queue);
            var priorities = new Dictionary<string, TaskPriority>();
            await using (var publisher = await PublisherHost.StartAsync(rabbit, queue))
            {
                for (var i = 0; i < 20; i++)
                {
                    foreach (var priority in new[] { TaskPriority.Low, TaskPriority.Medium, TaskPriority.High })
                        priorities[(await publisher.Manager.QueueAsync("noop", priority: priority)).Id] = priority;
                }
            }
            Assert.Equal(60u, await rabbit.MessageCountAsync(queue));

            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue, "--TaskBus:MaxConcurrentTasks=1");
            foreach (var id in priorities.Keys)
                Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(id)).State);

            var started = watcher.Events.Where(e => e.State == TaskState.Running && priorities.ContainsKey(e.Id)).Select(e => priorities[e.Id]).ToList();
            Assert.Equal(60, started.Count);
            Assert.True(started.LastIndexOf(TaskPriority.High) < started.IndexOf(TaskPriority.Medium), string.Join(",", started));
            Assert.True(started.LastIndexOf(TaskPriority.Medium) < started.IndexOf(TaskPriority.Low), string.Join(",", started));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }
}
