using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.RabbitMq;

namespace TaskBus.Tests.RabbitMq;

public sealed class RabbitMqLayoutTests
{
    [Fact]
    public void OneClassicQueue_IsTheGroupsQueue_AsBefore()
    {
        var layout = new RabbitMqLayout("jobs");

        Assert.Equal(["jobs"], layout.Queues.Select(q => q.Name));
        Assert.False(layout.Gated);
        Assert.Equal("jobs", layout.Next(TaskPriority.High));
        Assert.Equal("jobs_error", layout.ErrorQueue);
        Assert.Equal(new Dictionary<string, object?> { ["x-max-priority"] = 2 }, layout.QueueArguments());
    }

    [Fact]
    public void Quorum_HasAQueuePerPriority_InEachShard_AndOneErrorQueue()
    {
        var one = new RabbitMqLayout("jobs", RabbitMqQueueType.Quorum);
        var three = new RabbitMqLayout("jobs", RabbitMqQueueType.Quorum, shards: 3);

        Assert.Equal(["jobs.high", "jobs.medium", "jobs.low"], one.Queues.Select(q => q.Name));
        Assert.Equal([TaskPriority.High, TaskPriority.Medium, TaskPriority.Low], one.Queues.Select(q => q.Priority!.Value));
        Assert.Equal(9, three.Queues.Count);
        Assert.Equal("jobs.2.medium", three.QueueFor(2, TaskPriority.Medium));
        Assert.Equal("jobs.quorum_error", three.ErrorQueue);
        Assert.True(one.Gated);
        var arguments = three.QueueArguments();
        Assert.Equal(("quorum", 1000, "jobs.quorum_error", "at-least-once"),
            (arguments["x-queue-type"], arguments["x-delivery-limit"], arguments["x-dead-letter-routing-key"], arguments["x-dead-letter-strategy"]));
        Assert.DoesNotContain("x-max-priority", arguments.Keys);
    }

    [Fact]
    public void Shards_AreTakenInTurn_PerSender_WithinOne()
    {
        var layout = new RabbitMqLayout("jobs", RabbitMqQueueType.Classic, shards: 3);
        var sent = new Dictionary<string, int>();

        for (var i = 0; i < 100; i++)
        {
            var queue = layout.Next(i % 2 == 0 ? TaskPriority.High : TaskPriority.Low);
            sent[queue] = sent.GetValueOrDefault(queue) + 1;
        }

        Assert.Equal(["jobs.1", "jobs.2", "jobs.3"], sent.Keys.Order());
        Assert.True(sent.Values.Max() - sent.Values.Min() <= 1, string.Join(",", sent));
    }

    [Fact]
    public void ShortLivedSenders_EachQueueingOneRun_SpreadOverTheShards()
    {
        // Sixty processes, each with a layout of its own that sends one run (a command line, a function): each
        // starts its turn at a random shard, so none is left empty (every sender starting at shard 1 gave 60, 0, 0).
        var sent = new Dictionary<string, int>();
        for (var sender = 0; sender < 60; sender++)
        {
            var queue = new RabbitMqLayout("jobs", RabbitMqQueueType.Classic, shards: 3).Next(TaskPriority.Medium);
            sent[queue] = sent.GetValueOrDefault(queue) + 1;
        }

        for (var shard = 1; shard <= 3; shard++)
            Assert.InRange(sent.GetValueOrDefault($"jobs.{shard}"), 5, 35);
    }

    [Fact]
    public void TheErrorQueue_KeepsNoDeadLetteringOfItsOwn_AndALimitReadingNeverReaches()
    {
        var layout = new RabbitMqLayout("jobs", RabbitMqQueueType.Quorum, shards: 2);
        var arguments = layout.QueueArguments();

        layout.ErrorArguments(arguments);

        Assert.DoesNotContain("x-dead-letter-exchange", arguments.Keys);
        Assert.Equal(RabbitMqLayout.ErrorDeliveryLimit, arguments["x-delivery-limit"]);
        Assert.Equal("quorum", arguments["x-queue-type"]);
    }

    [Fact]
    public void AWait_OnQuorum_IsReplicated_AndDeadLetteredAtLeastOnce_ToItsQueue()
    {
        var classic = new RabbitMqLayout("jobs").DelayArguments("jobs", 500);
        var quorum = new RabbitMqLayout("jobs", RabbitMqQueueType.Quorum).DelayArguments("jobs.low", 500);

        Assert.Equal(("jobs", 500L, 60_500L), (classic["x-dead-letter-routing-key"], classic["x-message-ttl"], classic["x-expires"]));
        Assert.DoesNotContain("x-queue-type", classic.Keys);
        Assert.Equal(("jobs.low", "quorum", "at-least-once", "reject-publish"),
            (quorum["x-dead-letter-routing-key"], quorum["x-queue-type"], quorum["x-dead-letter-strategy"], quorum["x-overflow"]));
    }

    [Fact]
    public void Nodes_TheUrlsNodeFirst_ThenTheOthers_EachWithAPort()
    {
        var options = new RabbitMqOptions { Nodes = ["node1:5701, node2:5702", "node3", "node2:5702"] };

        Assert.Equal(["node2:5702", "node1:5701", "node3:5702"], RabbitMqBus.Nodes(new Uri("amqp://u:p@node2:5702/vh"), options));
        Assert.Equal(["localhost:5672"], RabbitMqBus.Nodes(new Uri("amqp://localhost/"), new RabbitMqOptions()));
    }
}
