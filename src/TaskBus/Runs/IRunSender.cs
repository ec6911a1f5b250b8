using TaskBus.Contracts;
using TaskBus.Tasks;

namespace TaskBus.Runs;

/// <summary>Puts queued runs in the worker group's queue: the bus, seen from the client and the consume path.</summary>
internal interface IRunSender
{
    /// <summary>
    /// Sends a queued run to the group's queue, after <paramref name="delay"/> (held by the broker where it can, in
    /// this process otherwise); returns once the broker has it or holds it. A run waited for keeps its waiter in
    /// <paramref name="reply"/>, so the final answer reaches it through retries.
    /// </summary>
    /// <exception cref="TaskQueueException">The broker did not take the run.</exception>
    Task SendAsync(TaskDescriptor task, TaskRun run, TimeSpan delay, RunReply? reply, CancellationToken cancellationToken);

    /// <summary>
    /// Sends a queued run and waits for its final event, wherever it runs; a run whose message could not be
    /// processed comes back as a <c>failure</c> event.
    /// </summary>
    /// <exception cref="TimeoutException">No final event within <paramref name="timeout"/>.</exception>
    /// <exception cref="TaskQueueException">The broker did not take the run.</exception>
    Task<TaskRunEvent> RequestAsync(TaskDescriptor task, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>Who waits for a run's final event: the request it was sent with and where the answer goes.</summary>
internal readonly record struct RunReply(Guid RequestId, Uri Address);
