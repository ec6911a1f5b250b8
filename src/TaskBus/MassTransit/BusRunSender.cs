using MassTransit;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.MassTransit;

/// <summary>
/// Sends runs to the queue of this process's worker group (<c>TaskBus:QueueName</c>): a command for that group only;
/// where the group has several queues (shards, a queue per priority), to the one <paramref name="address"/> gives in turn.
/// Where the transport has a declaration (RabbitMQ), the queue is declared first, exactly as a worker declares it,
/// and a send it routes to no queue is declared again and sent once more, so a run is queued before any worker ever
/// ran and a send the broker cannot route fails instead of vanishing. A delay is held by the broker where it can
/// (<see cref="IDelayedDelivery"/>), in this process otherwise. A send the broker has not confirmed within the
/// publish timeout (a resource alarm blocks publishers; the broker is gone) ends with a
/// <see cref="TaskQueueException"/> marked <see cref="TaskQueueException.NotConfirmed"/>, with the broker's reason.
/// </summary>
internal sealed partial class BusRunSender(
    IBus bus, RunStamp stamp, Func<TaskPriority, Uri> address, string queueName, IQueueDeclaration? declaration, IDelayedDelivery? delayed, TimeProvider time,
    ILogger<BusRunSender> logger, TimeSpan? publishTimeout = null, IBrokerState? broker = null) : IRunSender, IDisposable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _declared;
    private Task? _responses;

    public Task SendAsync(TaskDescriptor task, TaskRun run, TimeSpan delay, RunReply? reply, CancellationToken cancellationToken)
    {
        var message = TaskMessages.For(task);
        if (delay <= TimeSpan.Zero)
            return ConfirmedAsync(run, token => SendNowAsync(message, run, reply, token), cancellationToken);
        if (delayed is not null)
            return ConfirmedAsync(run, token => delayed.SendAsync(message.MessageType, run, delay, reply, token), cancellationToken);
        _ = HoldAsync(message, run, delay, reply);
        return Task.CompletedTask;
    }

    /// <summary>A send, bounded by the publish timeout: past it, the run is not confirmed, with what the broker says of itself.</summary>
    private async Task ConfirmedAsync(TaskRun run, Func<CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        if (publishTimeout is not { } timeout)
        {
            await send(cancellationToken);
            return;
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            await send(bounded.Token);
        }
        catch (Exception ex) when (bounded.IsCancellationRequested && !cancellationToken.IsCancellationRequested
            && ex is OperationCanceledException or TaskQueueException { InnerException: OperationCanceledException })
        {
            string? why = null;
            if (broker is not null)
            {
                using var asking = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                why = await broker.WhyNotTakingAsync(asking.Token);
            }
            LogNotConfirmed(logger, run.Task, run.Id, timeout.TotalSeconds, why ?? "no reason known");
            throw new TaskQueueException(
                $"Run {run.NameId} was not confirmed by the broker within {timeout.TotalSeconds:0.###} s (TaskBus:RabbitMQ:PublishTimeout): " +
                $"{why ?? "the broker did not answer"}; it may still be queued, and then runs under its id", ex)
            {
                NotConfirmed = true,
            };
        }
    }

    public async Task<TaskRunEvent> RequestAsync(TaskDescriptor task, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var message = TaskMessages.For(task);
        await ResponsesReadyAsync(cancellationToken);
        try
        {
            return await WithQueueAsync(run, () => message.RequestAsync(bus, address(run.Priority), stamp, run, timeout, cancellationToken), cancellationToken);
        }
        catch (RequestTimeoutException ex)
        {
            throw new TimeoutException(ex.Message, ex);
        }
        catch (RequestFaultException ex)
        {
            // The worker could not process the run's message: it went to the error queue, and the run failed there.
            return run.ToEvent(ThisWorker.Name) with
            {
                State = TaskState.Failure,
                Error = string.Join("; ", ex.Fault?.Exceptions.Select(e => $"{ShortTypeName(e.ExceptionType)}: {e.Message}") ?? [ex.Message]),
            };
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private Task<bool> SendNowAsync(ITaskMessage message, TaskRun run, RunReply? reply, CancellationToken cancellationToken) =>
        WithQueueAsync(run, async () =>
        {
            var endpoint = await bus.GetSendEndpoint(address(run.Priority));
            await message.SendAsync(endpoint, stamp, run, reply, cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>A delay held in this process (the in-memory transport): the run is lost if the process stops first, as everything it holds.</summary>
    private async Task HoldAsync(ITaskMessage message, TaskRun run, TimeSpan delay, RunReply? reply)
    {
        try
        {
            await Task.Delay(delay, time, _stopping.Token);
            await ConfirmedAsync(run, token => SendNowAsync(message, run, reply, token), CancellationToken.None);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            LogHeldRunLost(logger, ex, run.Task, run.Id);
        }
    }

    /// <summary>
    /// The bus's own endpoint, where responses arrive, is started on RabbitMQ by the first request, and MassTransit
    /// waits for it synchronously in every request until it is up: a hundred requests at once right after start
    /// would hold a hundred pool threads and starve the client that has to finish the start. The first request here
    /// starts it on a thread of its own; the others wait for that without holding a thread.
    /// </summary>
    private Task ResponsesReadyAsync(CancellationToken cancellationToken)
    {
        if (_responses is { IsCompletedSuccessfully: true })
            return Task.CompletedTask;
        lock (_lock)
        {
            if (_responses is null || _responses.IsFaulted || _responses.IsCanceled)
                _responses = Task.Factory.StartNew(() =>
                {
                    var handle = ((IRequestPipeConnector)bus).ConnectRequestPipe(NewId.NextGuid(), Pipe.Empty<ConsumeContext<TaskRunEvent>>());
                    handle.Disconnect();
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return _responses.WaitAsync(cancellationToken);
        }
    }

    private async Task<T> WithQueueAsync<T>(TaskRun run, Func<Task<T>> send, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await DeclaredAsync(cancellationToken);
                return await send();
            }
            catch (MessageReturnedException) when (attempt == 1)
            {
                // No queue took the run: it was deleted since this process declared it. Declare it again, once.
                Forget();
            }
            catch (MessageReturnedException ex)
            {
                throw new TaskQueueException($"Run {run.NameId} could not be queued: the broker routed it to no queue (exchange {queueName})", ex);
            }
            catch (Exception ex) when (ex is not (RequestException or OperationCanceledException or TaskQueueException))
            {
                throw new TaskQueueException($"Run {run.NameId} could not be queued to {queueName}: {Reason(ex)}", ex);
            }
        }
    }

    private Task DeclaredAsync(CancellationToken cancellationToken)
    {
        if (declaration is null)
            return Task.CompletedTask;
        lock (_lock)
        {
            // One declaration for every send that waits on it; a failed one is tried again by the next send.
            if (_declared is null || _declared.IsFaulted || _declared.IsCanceled)
                _declared = declaration.DeclareAsync(CancellationToken.None);
            return _declared.WaitAsync(cancellationToken);
        }
    }

    private void Forget()
    {
        lock (_lock)
            _declared = null;
    }

    private static string Reason(Exception ex)
    {
        while (ex.InnerException is { } inner && ex is MassTransitException or AggregateException)
            ex = inner;
        return $"{ex.GetType().Name}: {ex.Message}";
    }

    private static string ShortTypeName(string? fullName) =>
        fullName is null ? "Exception" : fullName[(fullName.LastIndexOf('.') + 1)..];

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Run {Task}.{RunId} not confirmed by the broker within {Seconds} s: {Reason}")]
    private static partial void LogNotConfirmed(ILogger logger, string task, string runId, double seconds, string reason);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "Run {Task}.{RunId} could not be queued again after its wait; it is lost")]
    private static partial void LogHeldRunLost(ILogger logger, Exception exception, string task, string runId);
}
