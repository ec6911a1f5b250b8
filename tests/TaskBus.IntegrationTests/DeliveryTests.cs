using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using TaskBus.Serialization;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>A queued run lands in exactly one worker group's queue, also before any worker of the group ever ran.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class DeliveryTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    [Fact]
    public async Task FreshVhost_ThirtyRunsQueuedBeforeAnyWorkerRan_EachRunsOnceWhenTheFirstWorkerStarts()
    {
        var (vhost, url) = await rabbit.CreateVhostAsync();
        const string Queue = "taskbus-tasks";
        try
        {
            var ids = new List<string>();
            // 10 by the Publisher CLI.
            for (var i = 0; i < 10; i++)
            {
                await using var cli = AppProcess.Start("TaskBus.Publisher",
                    ["queue", "add", "--param", $"a={i}", "--param", "b=100", "--TaskBus:Transport=RabbitMQ", $"--TaskBus:RabbitMQ:Url={url}"]);
                Assert.Equal(0, await cli.WaitForExitAsync());
                ids.Add(JsonSerializer.Deserialize<TaskRunEvent>(cli.StdoutLines.Single(), TaskBusJson.Options)!.Id);
            }
            // 10 through POST /tasks/add on a process that only queues.
            var port = AppProcess.FreePort();
            await using (var api = await AppProcess.StartWorkerAsync(rabbit, Queue,
                $"--TaskBus:RabbitMQ:Url={url}", "--TaskBus:ConsumeTasks=false", $"--TaskBus:Http:Urls=http://127.0.0.1:{port}"))
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                for (var i = 0; i < 10; i++)
                {
                    using var response = await http.PostAsJsonAsync("/tasks/add", new { a = i, b = 200 });
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    ids.Add((await response.Content.ReadFromJsonAsync<TaskRunEvent>(TaskBusJson.Options))!.Id);
                }
            }
            // 10 by a TaskManager in a process that only queues.
            await using (var publisher = await PublisherHost.StartAsync(rabbit, Queue, url))
            {
                for (var i = 0; i < 10; i++)
                    ids.Add((await publisher.Manager.QueueAsync("add", new Add { A = i, B = 300 })).Id);
            }
            Assert.Equal(30u, await rabbit.MessageCountAsync(Queue, url));

            await using var watcher = await EventWatcher.StartAsync(rabbit, url: url);
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, Queue, $"--TaskBus:RabbitMQ:Url={url}");
            foreach (var id in ids)
                Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(id)).State);

            foreach (var id in ids)
            {
                Assert.Single(watcher.EventsOf(id), e => e.State == TaskState.Running);
                Assert.Single(watcher.EventsOf(id), e => e.State == TaskState.Success);
            }
            Assert.Equal(0u, await rabbit.MessageCountAsync(Queue, url));
        }
        finally
        {
            await RabbitMqFixture.DeleteVhostAsync(vhost);
        }
    }

    [Fact]
    public async Task TwoWorkerGroupsOnOneVhost_FiftyRunsQueuedToEach_EachRunsOnceInItsOwnGroup()
    {
        var a = RabbitMqFixture.NewQueueName("group-a");
        var b = RabbitMqFixture.NewQueueName("group-b");
        try
        {
            await using var workerA = await AppProcess.StartWorkerAsync(rabbit, a, "--TaskBus:MaxConcurrentTasks=10");
            await using var workerB = await AppProcess.StartWorkerAsync(rabbit, b, "--TaskBus:MaxConcurrentTasks=10");
            // Both kinds of sender: a TaskManager of the group, and a plain MassTransit publisher set up for the group.
            await using var publishesToA = await EventWatcher.StartAsync(rabbit, a);
            await using var publishesToB = await EventWatcher.StartAsync(rabbit, b);
            await using var managerA = await PublisherHost.StartAsync(rabbit, a);
            await using var managerB = await PublisherHost.StartAsync(rabbit, b);
            var groupOf = new Dictionary<string, string>();
            foreach (var (queue, manager, publisher) in new[] { (a, managerA, publishesToA), (b, managerB, publishesToB) })
            {
                for (var i = 0; i < 40; i++)
                    groupOf[(await manager.Manager.QueueAsync("noop")).Id] = queue;
                for (var i = 0; i < 10; i++)
                {
                    var id = NewId.NextGuid();
                    await publisher.Bus.Publish(new Noop(), c => c.MessageId = id);
                    groupOf[id.ToString("N")] = queue;
                }
            }

            foreach (var id in groupOf.Keys)
                Assert.Equal(TaskState.Success, (await publishesToA.WaitForFinal(id)).State);

            var workerOf = new Dictionary<string, string> { [a] = $"-{workerA.Pid}", [b] = $"-{workerB.Pid}" };
            foreach (var (id, queue) in groupOf)
            {
                var success = Assert.Single(publishesToA.EventsOf(id), e => e.State == TaskState.Success);
                Assert.EndsWith(workerOf[queue], success.Worker, StringComparison.Ordinal);
                Assert.Single(publishesToA.EventsOf(id), e => e.State == TaskState.Running);
            }
            Assert.Equal(0u, await rabbit.MessageCountAsync(a));
            Assert.Equal(0u, await rabbit.MessageCountAsync(b));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(a);
            await rabbit.DeleteQueuesAsync(b);
        }
    }

    [Fact]
    public async Task PreviousVersionsBindingsLeftOnTheBroker_RunsStillGoToTheirOwnGroupOnly()
    {
        var a = RabbitMqFixture.NewQueueName("upgrade-a");
        var b = RabbitMqFixture.NewQueueName("upgrade-b");
        var recordExchange = "TaskBus.Contracts.Tasks:Noop";
        try
        {
            // The previous version's workers of both groups bound the record's exchange to their queues.
            await rabbit.BindAsThePreviousVersionDidAsync(recordExchange, a);
            await rabbit.BindAsThePreviousVersionDidAsync(recordExchange, b);
            await using var workerA = await AppProcess.StartWorkerAsync(rabbit, a);
            await using var workerB = await AppProcess.StartWorkerAsync(rabbit, b);
            await using var publishesToA = await EventWatcher.StartAsync(rabbit, a);
            await using var managerA = await PublisherHost.StartAsync(rabbit, a);
            var ids = new List<string>();
            for (var i = 0; i < 10; i++)
            {
                ids.Add((await managerA.Manager.QueueAsync("noop")).Id);
                var id = NewId.NextGuid();
                await publishesToA.Bus.Publish(new Noop(), c => c.MessageId = id);
                ids.Add(id.ToString("N"));
            }

            foreach (var id in ids)
                Assert.EndsWith($"-{workerA.Pid}", (await publishesToA.WaitForFinal(id)).Worker, StringComparison.Ordinal);
            Assert.All(ids, id => Assert.Single(publishesToA.EventsOf(id), e => e.State == TaskState.Running));
            Assert.DoesNotContain(publishesToA.Events, e => e.Worker.EndsWith($"-{workerB.Pid}", StringComparison.Ordinal));
            Assert.Equal(0u, await rabbit.MessageCountAsync(b));
        }
        finally
        {
            await rabbit.DeleteExchangeAsync(recordExchange);
            await rabbit.DeleteQueuesAsync(a);
            await rabbit.DeleteQueuesAsync(b);
        }
    }

    [Fact]
    public async Task PlainMassTransitPublisher_WithTheOneLineSetup_QueuesBeforeAnyWorker_AndAPublishThatReachesNoQueueFails()
    {
        var queue = RabbitMqFixture.NewQueueName("plain-first");
        try
        {
            // A service with MassTransit and TaskBus.Contracts only, set up with README's line, before any worker ever ran.
            await using var service = await EventWatcher.StartAsync(rabbit, queue);
            var first = NewId.NextGuid();
            await service.Bus.Publish(new Add { A = 1, B = 41 }, c => c.MessageId = first);
            Assert.Equal(1u, await rabbit.MessageCountAsync(queue));

            await using (var worker = await AppProcess.StartWorkerAsync(rabbit, queue))
            {
                Assert.Equal(TaskState.Success, (await service.WaitForFinal(first.ToString("N"))).State);
                Assert.Equal(0, await worker.StopAsync());
            }

            // An operator deletes the queue: the next publish reaches no queue and fails, instead of vanishing.
            await rabbit.DeleteQueueAsync(queue);
            await Assert.ThrowsAsync<MessageReturnedException>(() => service.Bus.Publish(new Add { A = 2, B = 2 }));
            // MassTransit declares the topology again after the failure: the next publish waits in a new queue.
            var again = NewId.NextGuid();
            await service.Bus.Publish(new Add { A = 3, B = 3 }, c => c.MessageId = again);
            Assert.Equal(1u, await rabbit.MessageCountAsync(queue));
            await using var next = await AppProcess.StartWorkerAsync(rabbit, queue);
            Assert.Equal(TaskState.Success, (await service.WaitForFinal(again.ToString("N"))).State);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task TaskManager_AfterAnOperatorDeletedTheQueue_DeclaresItAgainAndTheRunWaitsThere()
    {
        var queue = RabbitMqFixture.NewQueueName("redeclare");
        try
        {
            await using var publisher = await PublisherHost.StartAsync(rabbit, queue);
            await publisher.Manager.QueueAsync("noop");
            Assert.Equal(1u, await rabbit.MessageCountAsync(queue));

            await rabbit.DeleteQueueAsync(queue);
            var run = await publisher.Manager.QueueAsync("noop");

            Assert.Equal(TaskState.Queued, run.State);
            Assert.Equal(1u, await rabbit.MessageCountAsync(queue));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task RunTheBrokerRefuses_IsAnErrorToTheCaller_Http503AndCliExitTwo_AndNothingIsQueued()
    {
        var (vhost, url) = await rabbit.CreateVhostAsync();
        try
        {
            // guest may not declare queues named "refused-...": the task queue cannot be declared.
            await RabbitMqFixture.CtlAsync("set_permissions", "-p", vhost, "guest", "^(?!refused-).*", ".*", ".*");
            const string Queue = "refused-tasks";
            var port = AppProcess.FreePort();
            await using var api = await AppProcess.StartWorkerAsync(rabbit, Queue,
                $"--TaskBus:RabbitMQ:Url={url}", "--TaskBus:ConsumeTasks=false", $"--TaskBus:Http:Urls=http://127.0.0.1:{port}");
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            using var response = await http.PostAsJsonAsync("/tasks/add", new { a = 1, b = 2 });
            var body = await response.Content.ReadAsStringAsync();
            output.WriteLine(body);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("could not be queued", body, StringComparison.Ordinal);

            await using var cli = AppProcess.Start("TaskBus.Publisher",
                ["queue", "add", "--param", "a=1", "--param", "b=2", "--TaskBus:Transport=RabbitMQ", $"--TaskBus:RabbitMQ:Url={url}", $"--TaskBus:QueueName={Queue}"]);
            Assert.Equal(2, await cli.WaitForExitAsync());
            output.WriteLine(cli.Output);
            Assert.Empty(cli.StdoutLines);
            var error = Assert.Single(cli.Output.Split('\n'), l => l.StartsWith("[stderr] Error: ", StringComparison.Ordinal));
            Assert.Contains("could not be queued", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", cli.Output, StringComparison.Ordinal);
        }
        finally
        {
            await RabbitMqFixture.DeleteVhostAsync(vhost);
        }
    }
}
