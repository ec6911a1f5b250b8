using MassTransit;
using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.MassTransit;

/// <summary>
/// How a queued run crosses the bus: its id is the message id, its priority the broker's message priority, the rest
/// its <see cref="RunHeader"/>; a send or publish that reaches no queue fails instead of vanishing where the
/// transport can tell (on RabbitMQ, a mandatory message; <paramref name="transport"/> adds what a transport needs).
/// </summary>
internal sealed class RunStamp(Action<SendContext, TaskRun>? transport)
{
    /// <summary>The highest broker priority: high = 2, medium = 1, low = 0 (as a message with none).</summary>
    public const byte MaxPriority = 2;

    /// <summary>The broker's priority of a run's priority.</summary>
    public static byte ToBrokerPriority(TaskPriority priority) => priority switch
    {
        TaskPriority.High => 2,
        TaskPriority.Medium => 1,
        _ => 0,
    };

    /// <summary>The run header of a delivered message, if it has one that reads.</summary>
    public static RunHeader? Read(Headers headers) => RunHeader.TryParse(headers.Get<string>(RunHeader.Name), out var header)
        ? header with
        {
            ExpiresAt = RunHeader.ParseExpires(headers.Get<string>(RunHeader.ExpiresName)),
            Due = RunHeader.ParseExpires(headers.Get<string>(RunHeader.DueName)),
        }
        : null;

    /// <summary>Makes a send or publish carry a queued run.</summary>
    public void Stamp(SendContext context, TaskRun run)
    {
        context.MessageId = run.Guid;
        context.TrySetPriority(ToBrokerPriority(run.Priority));
        context.Headers.Set(RunHeader.Name, RunHeader.Format(run));
        if (RunHeader.FormatExpires(run) is { } expires)
            context.Headers.Set(RunHeader.ExpiresName, expires);
        if (RunHeader.FormatDue(run) is { } due)
            context.Headers.Set(RunHeader.DueName, due);
        if (context is PublishContext publish)
            publish.Mandatory = true;
        transport?.Invoke(context, run);
    }
}
