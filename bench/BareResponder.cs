using MassTransit;

namespace TaskBus.Bench;

/// <summary>The baseline of <c>queue-and-wait</c>: a plain MassTransit consumer that answers a request at once.</summary>
public sealed class BareResponder : IConsumer<BareRequest>
{
    public Task Consume(ConsumeContext<BareRequest> context) => context.RespondAsync(new BareResponse());
}

/// <summary>A request as small as <c>Noop</c>.</summary>
public sealed record BareRequest;

/// <summary>Its answer.</summary>
public sealed record BareResponse;
