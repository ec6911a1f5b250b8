using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;

namespace TaskBus.Runs;

/// <summary>
/// The handlers users register by event name, aio-fluid's dispatcher: a state (<c>running</c>) or a state and a
/// tag (<c>running.audit</c>), one handler per name. Each change reaches them as one snapshot of the run. A handler
/// that throws is logged and stops neither the others nor the run. Async handlers run off the hot path, one at a
/// time, on a loop of their own; snapshots still waiting when it stops are dropped, as in aio-fluid.
/// </summary>
internal sealed partial class RunHandlers(ILogger<RunHandlers> logger) : IAsyncDisposable
{
    private static readonly int States = Enum.GetValues<TaskState>().Length;

    private readonly Lock _lock = new();
    // Copy-on-write per state, so a change reads them without locking.
    private readonly Handler<Action<TaskRun>>[][] _sync = Empty<Action<TaskRun>>();
    private readonly Handler<Func<TaskRun, CancellationToken, Task>>[][] _async = Empty<Func<TaskRun, CancellationToken, Task>>();
    private readonly Channel<(TaskRun Run, Func<TaskRun, CancellationToken, Task> Handler)> _pending =
        Channel.CreateUnbounded<(TaskRun, Func<TaskRun, CancellationToken, Task>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    /// <summary>Registers a handler for an event name; returns the one it replaced.</summary>
    /// <exception cref="ArgumentException">The name does not start with a state's wire name.</exception>
    public Action<TaskRun>? Register(string eventName, Action<TaskRun> handler) => Set(_sync, eventName, handler);

    /// <summary>Removes the handler of an event name; returns it, or null.</summary>
    public Action<TaskRun>? Unregister(string eventName) => Set<Action<TaskRun>>(_sync, eventName, null);

    /// <summary>Registers an async handler for an event name; returns the one it replaced.</summary>
    public Func<TaskRun, CancellationToken, Task>? RegisterAsync(string eventName, Func<TaskRun, CancellationToken, Task> handler)
    {
        var previous = Set(_async, eventName, handler);
        lock (_lock)
            _loop ??= Task.Run(RunAsync);
        return previous;
    }

    /// <summary>Removes the async handler of an event name; returns it, or null.</summary>
    public Func<TaskRun, CancellationToken, Task>? UnregisterAsync(string eventName) => Set<Func<TaskRun, CancellationToken, Task>>(_async, eventName, null);

    /// <summary>True when a handler waits for runs entering <paramref name="state"/>.</summary>
    public bool Any(TaskState state) => _sync[(int)state].Length > 0 || _async[(int)state].Length > 0;

    /// <summary>Hands one snapshot of a run to every handler of its state: the others at once, the async ones to their loop.</summary>
    public void Handle(TaskRun snapshot)
    {
        foreach (var entry in _sync[(int)snapshot.State])
        {
            try
            {
                entry.Action(snapshot);
            }
            catch (Exception ex)
            {
                LogHandlerFailed(logger, ex, snapshot.State.ToWire(), entry.Tag, snapshot.NameId);
            }
        }
        foreach (var entry in _async[(int)snapshot.State])
            _pending.Writer.TryWrite((snapshot, entry.Action));
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _stopping.CancelAsync();
        if (_loop is not null)
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    /// <summary>The state and tag of an event name: <c>running</c>, <c>running.audit</c>; case-insensitive.</summary>
    internal static (TaskState State, string Tag) ParseEvent(string eventName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        var dot = eventName.IndexOf('.', StringComparison.Ordinal);
        var state = dot < 0 ? eventName : eventName[..dot];
        var tag = dot < 0 ? "" : eventName[(dot + 1)..];
        return (TaskStateExtensions.ParseState(state), tag);
    }

    private T? Set<T>(Handler<T>[][] table, string eventName, T? handler)
        where T : class
    {
        var (state, tag) = ParseEvent(eventName);
        lock (_lock)
        {
            var current = table[(int)state];
            var index = Array.FindIndex(current, e => e.Tag == tag);
            var previous = index >= 0 ? current[index].Action : null;
            table[(int)state] = (index, handler) switch
            {
                (< 0, null) => current,
                (< 0, { } added) => [.. current, new Handler<T>(tag, added)],
                (_, null) => [.. current.Where((_, i) => i != index)],
                (_, { } replaced) => [.. current.Select((e, i) => i == index ? new Handler<T>(tag, replaced) : e)],
            };
            return previous;
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
                    LogAsyncHandlerFailed(logger, ex, run.NameId);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private static Handler<T>[][] Empty<T>()
        where T : class => [.. Enumerable.Repeat(Array.Empty<Handler<T>>(), States)];

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Handler {State}.{Tag} failed for {Run}")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string state, string tag, string run);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Async handler failed for {Run}")]
    private static partial void LogAsyncHandlerFailed(ILogger logger, Exception exception, string run);

    private readonly record struct Handler<T>(string Tag, T Action);
}
