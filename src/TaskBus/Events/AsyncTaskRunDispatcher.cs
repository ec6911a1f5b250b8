using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace TaskBus.Events;

/// <summary>
/// Runs async handlers off the hot path: the synchronous dispatcher only queues a snapshot, a
/// background loop awaits the handlers. Pending snapshots are dropped at stop, as in aio-fluid.
/// </summary>
internal sealed partial class AsyncTaskRunDispatcher : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(Contracts.TaskState, string), Func<TaskRun, CancellationToken, Task>> _handlers = [];
    private readonly Channel<(TaskRun Run, Func<TaskRun, CancellationToken, Task> Handler)> _pending =
        Channel.CreateUnbounded<(TaskRun, Func<TaskRun, CancellationToken, Task>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private Task? _loop;

    public AsyncTaskRunDispatcher(ILogger logger) => _logger = logger;

    public Func<TaskRun, CancellationToken, Task>? Register(string eventName, Func<TaskRun, CancellationToken, Task> handler, TaskRunDispatcher dispatcher)
    {
        var key = TaskRunDispatcher.ParseEvent(eventName);
        lock (_lock)
        {
            _handlers.TryGetValue(key, out var previous);
            _handlers[key] = handler;
            _loop ??= Task.Run(RunAsync);
            dispatcher.RegisterHandler(key.Item1.ToWire() + ".async_dispatch", Enqueue);
            return previous;
        }
    }

    public Func<TaskRun, CancellationToken, Task>? Unregister(string eventName)
    {
        var key = TaskRunDispatcher.ParseEvent(eventName);
        lock (_lock)
            return _handlers.Remove(key, out var handler) ? handler : null;
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _stopping.CancelAsync();
        if (_loop is not null)
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private void Enqueue(TaskRun snapshot)
    {
        lock (_lock)
        {
            foreach (var ((state, _), handler) in _handlers)
            {
                if (state == snapshot.State)
                    _pending.Writer.TryWrite((snapshot, handler));
            }
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var (run, handler) in _pending.Reader.ReadAllAsync(_stopping.Token))
            {
                try
                {
                    await handler(run, _stopping.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
                {
                    LogAsyncHandlerFailed(_logger, ex, run.NameId);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Async handler failed for {Run}")]
    private static partial void LogAsyncHandlerFailed(ILogger logger, Exception exception, string run);
}
