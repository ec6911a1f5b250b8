using MassTransit;
using MassTransit.Middleware;
using MassTransit.Middleware.Rescue;

namespace TaskBus.MassTransit;

/// <summary>
/// The task queue's dead-letter pipe: a message that no task consumed (its type is no task's) is a
/// poison message. It goes to the error queue with the reason in its fault headers, and receive
/// observers hear of it, instead of MassTransit's <c>_skipped</c> queue, and without a requeue loop.
/// </summary>
internal sealed class UnknownMessageFilter : IFilter<ReceiveContext>
{
    private readonly ErrorTransportFilter _errorTransport = new();

    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        var exception = new MessageNotConsumedException(context.InputAddress,
            $"no task on {context.InputAddress.AbsolutePath.TrimStart('/')} takes this message's type ({context.ContentType})");
        await context.NotifyFaulted(exception);
        await ((IFilter<ExceptionReceiveContext>)_errorTransport).Send(new RescueExceptionReceiveContext(context, exception), Pipe.Empty<ExceptionReceiveContext>());
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("taskbus-unknown-message");
}
