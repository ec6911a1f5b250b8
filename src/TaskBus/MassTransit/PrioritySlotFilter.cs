using MassTransit;
using TaskBus.Consuming;
using TaskBus.Contracts;

namespace TaskBus.MassTransit;

/// <summary>
/// Holds a delivered run until the worker has a slot for it (<see cref="PrioritySlots"/>), by its priority: the queue's
/// (a quorum queue per priority) or the run's own (classic shards).
/// </summary>
internal sealed class PrioritySlotFilter(PrioritySlots slots, TaskPriority? queuePriority) : IFilter<ConsumeContext>
{
    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        var priority = queuePriority ?? RunStamp.Read(context.Headers)?.Priority ?? TaskPriority.Low;
        using var slot = await slots.TakeAsync(priority, context.CancellationToken);
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("taskbus-priority-slots");
}
