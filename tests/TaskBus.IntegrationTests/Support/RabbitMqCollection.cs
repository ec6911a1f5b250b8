namespace TaskBus.IntegrationTests.Support;

/// <summary>
/// Every test on the real broker runs in this one collection, one at a time: task message
/// exchanges are shared by every queue bound to them, so tests running side by side would
/// receive each other's messages.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "rabbitmq";
}
