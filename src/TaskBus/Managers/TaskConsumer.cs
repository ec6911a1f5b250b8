using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskBus.Contracts;
using TaskBus.Execution;
using TaskBus.Storage;

namespace TaskBus;

/// <summary>
/// A manager that also consumes task messages from the bus (aio-fluid's <c>TaskConsumer</c>):
/// it rebuilds each run from its message, enforces the task's concurrency limit and runs it.
/// </summary>
public partial class TaskConsumer : TaskManager
{
    private ITaskStore? _store;
    private Events.IStateChangeOutlet? _outlet;
    private bool _outletResolved;

    private readonly CancellationTokenSource _stopping = new();
    private TaskRunProcessor? _processor;

    /// <summary>Creates a consumer over a registry.</summary>
    public TaskConsumer(TaskRegistry registry, IServiceProvider services, IOptions<TaskBusOptions> options, TimeProvider? time = null, ILoggerFactory? loggers = null)
        : base(registry, services, options, time, loggers)
    {
    }

    /// <inheritdoc />
    public override string Type => "task_consumer";

    /// <summary>Runs in progress in this process.</summary>
    public int NumConcurrentTasks => Processor.NumConcurrentTasks;

    /// <summary>Runs of one task in progress in this process.</summary>
    public int NumConcurrentTasksFor(string taskName) =>
        Processor.NumConcurrentTasksFor(taskName);

    /// <summary>True once <see cref="CancelRunning"/> was called.</summary>
    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <inheritdoc />
    public override TaskManagerStatus GetStatus() => base.GetStatus() with
    {
        NumConcurrentTasks = NumConcurrentTasks,
        MaxConcurrentTasks = Options.MaxConcurrentTasks,
        Running = Processor.Running(),
    };

    /// <summary>Cancels every run in progress: they end <c>interrupted</c> and their messages return to the queue.</summary>
    public void CancelRunning() => _stopping.Cancel();

    /// <summary>Completes once every state change made so far was recorded in the shared store, if there is one.</summary>
    internal Task StateChangesWentOutAsync()
    {
        if (!_outletResolved)
        {
            _outlet = Services.GetService<Events.IStateChangeOutlet>();
            _outletResolved = true;
        }
        return _outlet?.WentOutAsync() ?? Task.CompletedTask;
    }

    /// <summary>The store this consumer checks tasks' enabled flags and ticks against.</summary>
    protected ITaskStore Store => _store ??= Services.GetService<ITaskStore>() ?? new MemoryTaskStore();

    /// <summary>The consume path, on this consumer's store, dispatcher and clock.</summary>
    internal TaskRunProcessor Processor =>
        LazyInitializer.EnsureInitialized(ref _processor, () => new TaskRunProcessor(Store, Dispatcher, Time, Logger, _stopping.Token));

    /// <summary>
    /// Queues a retry or re-queued run again after <paramref name="delay"/>: at once when there is none;
    /// through the broker (a dead-lettering delay queue, durable) on RabbitMQ; in this process otherwise.
    /// The run becomes <c>queued</c> when it is sent.
    /// </summary>
    internal async Task RequeueAsync(TaskDescriptor task, TaskRun run, TimeSpan delay, Guid? requestId, Uri? responseAddress, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            run.SetState(TaskState.Queued);
            await Queue.SendAsync(task, run, requestId, responseAddress, cancellationToken);
            return;
        }
        if (Services.GetService<IDelayedRequeue>() is { } broker)
        {
            run.SetState(TaskState.Queued);
            await broker.SendAsync(task, run, delay, requestId, responseAddress, cancellationToken);
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, Time, _stopping.Token);
                run.SetState(TaskState.Queued);
                await Queue.SendAsync(task, run, requestId, responseAddress, CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                LogRequeueFailed(Logger, ex, run.Task, run.Id);
            }
        }, CancellationToken.None);
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        _stopping.Dispose();
        await base.DisposeAsyncCore();
    }

    [LoggerMessage(EventId = 1602, Level = LogLevel.Error, Message = "Run {Task}.{RunId} could not be queued again")]
    private static partial void LogRequeueFailed(ILogger logger, Exception exception, string task, string runId);
}
