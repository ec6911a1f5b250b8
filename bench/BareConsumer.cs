using MassTransit;

namespace TaskBus.Bench;

/// <summary>A plain MassTransit consumer that counts what it receives: the baseline.</summary>
public sealed class BareConsumer(Counter counter) : IConsumer<BareMessage>
{
    public Task Consume(ConsumeContext<BareMessage> context)
    {
        counter.Increment();
        return Task.CompletedTask;
    }
}
