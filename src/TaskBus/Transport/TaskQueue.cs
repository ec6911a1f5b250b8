using MassTransit;
using TaskBus.Contracts;

namespace TaskBus.Transport;

/// <summary>
/// The queue of this process's worker group (<see cref="TaskBusOptions.QueueName"/>), where every run TaskBus
/// queues is sent: a command for that group only. On RabbitMQ the run goes to the exchange of the queue's name,
/// the queue is declared here first (as a worker declares it), and the send is mandatory and confirmed, so a
/// run is queued before any worker ever ran, and a send the broker cannot route fails instead of vanishing.
/// </summary>
internal sealed class TaskQueue
{
    private readonly IBus _bus;
    private readonly ITaskQueueTopology? _topology;
    private readonly Lock _lock = new();
    private Task? _declared;
    private Task? _responses;

    public TaskQueue(IBus bus, TaskBusOptions options, ITaskQueueTopology? topology)
    {
        _bus = bus;
        _topology = topology;
        Name = options.QueueName;
        Address = new Uri(options.Transport == TaskBusTransport.RabbitMQ ? $"exchange:{Name}" : $"queue:{Name}");
    }

    /// <summary>The queue's name.</summary>
    public string Name { get; }

    /// <summary>Where runs are sent.</summary>
    public Uri Address { get; }

    /// <summary>Sends a queued run; throws <see cref="TaskQueueException"/> when it cannot be put in the queue.</summary>
    public Task SendAsync(TaskDescriptor task, TaskRun run, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken) =>
        SendAsync(run, async () =>
        {
            var endpoint = await _bus.GetSendEndpoint(Address);
            await task.Message.SendAsync(endpoint, run, requestId, responseAddress, cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>Sends a queued run as a request and waits for its final event; a timeout throws MassTransit's <see cref="RequestTimeoutException"/>.</summary>
    public async Task<TaskRunEvent> RequestAsync(TaskDescriptor task, TaskRun run, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await ResponsesReadyAsync(cancellationToken);
        return await SendAsync(run, () => task.Message.RequestAsync(_bus, Address, run, timeout, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// The bus's own endpoint, where responses arrive, is started on RabbitMQ by the first request, and MassTransit
    /// waits for it synchronously in every request until it is up: a hundred requests at once right after start
    /// held a hundred pool threads, starved the client that had to finish the start, and lost runs. The first
    /// request here starts it on one thread; the others wait for that without holding a thread.
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
                    var handle = ((IRequestPipeConnector)_bus).ConnectRequestPipe(NewId.NextGuid(), Pipe.Empty<ConsumeContext<TaskRunEvent>>());
                    handle.Disconnect();
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return _responses.WaitAsync(cancellationToken);
        }
    }

    private async Task<T> SendAsync<T>(TaskRun run, Func<Task<T>> send, CancellationToken cancellationToken)
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
                throw new TaskQueueException($"Run {run.NameId} could not be queued: the broker routed it to no queue (exchange {Name})", ex);
            }
            catch (Exception ex) when (ex is not (RequestException or OperationCanceledException or TaskQueueException))
            {
                throw new TaskQueueException($"Run {run.NameId} could not be queued to {Name}: {Reason(ex)}", ex);
            }
        }
    }

    private Task DeclaredAsync(CancellationToken cancellationToken)
    {
        if (_topology is null)
            return Task.CompletedTask;
        lock (_lock)
        {
            // One declaration for every send that waits on it; a failed one is tried again by the next send.
            if (_declared is null || _declared.IsFaulted || _declared.IsCanceled)
                _declared = _topology.DeclareAsync(CancellationToken.None);
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
}
