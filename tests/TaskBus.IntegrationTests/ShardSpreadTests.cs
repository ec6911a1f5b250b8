using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;

namespace TaskBus.IntegrationTests;

/// <summary>Shards and short-lived senders: a command line, a function or a script that queues one run and exits.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ShardSpreadTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task SixtyFreshSenders_EachQueueingOneRun_SpreadOverThreeShards()
    {
        var (vhost, url) = await rabbit.CreateVhostAsync();
        var queue = RabbitMqFixture.NewQueueName("shard-spread");
        try
        {
            // Sixty hosts, each started, queueing one run and stopped, ten at a time: each starts its turn at a random
            // shard (when every sender started at shard 1, the shards held 60, 0, 0).
            for (var batch = 0; batch < 6; batch++)
            {
                await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
                {
                    await using var sender = await PublisherHost.StartAsync(rabbit, queue, url, o => o.RabbitMQ.Shards = 3);
                    await sender.Manager.QueueAsync("add", new Add { A = batch, B = i });
                }));
            }

            var perShard = new List<uint>();
            for (var shard = 1; shard <= 3; shard++)
                perShard.Add(await rabbit.MessageCountAsync($"{queue}.{shard}", url));
            Assert.Equal(60u, perShard.Aggregate(0u, (sum, n) => sum + n));
            Assert.All(perShard, n => Assert.InRange(n, 5u, 35u));
        }
        finally
        {
            await RabbitMqFixture.DeleteVhostAsync(vhost);
        }
    }
}
