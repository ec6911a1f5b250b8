using MassTransit;
using MassTransit.Middleware;
using MassTransit.Middleware.Rescue;

namespace TaskBus.MassTransit;

/// <summary>
/// The task queue's dead-letter pipe: a message that no task consumed (its type is no task's) is a
/// poison message. It goes to the error queue with the reason in its fault headers, and receive
/// observers hear of it, instead of MassTransit's <c>_skipped</c> queue, and without a requeue loop.
/// </summary>
/// <param name="errorQueue">Where the message goes: the transport's error queue, or TaskBus's own on the in-memory transport.</param>
internal sealed class UnknownMessageFilter(IFilter<ExceptionReceiveContext>? errorQueue = null) : IFilter<ReceiveContext>
{
    private readonly IFilter<ExceptionReceiveContext> _errorTransport = errorQueue ?? new ErrorTransportFilter();

    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        var exception = new MessageNotConsumedException(context.InputAddress,
            $"no task on {context.InputAddress.AbsolutePath.TrimStart('/')} takes this message's type ({context.ContentType})");
        await context.NotifyFaulted(exception);
        await _errorTransport.Send(new RescueExceptionReceiveContext(context, exception), Pipe.Empty<ExceptionReceiveContext>());
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("taskbus-unknown-message");
}
