using Microsoft.Extensions.Logging;
using TaskBus.Contracts;

namespace TaskBus.Events;

/// <summary>
/// Dispatches task run state changes to handlers registered by event name: a state
/// (<c>running</c>) or a state and a tag (<c>running.audit</c>); one handler per name, as
/// aio-fluid's dispatcher. Handlers receive a snapshot of the run. A handler that throws is
/// logged and does not stop the others, nor the run.
/// </summary>
public sealed partial class TaskRunDispatcher(ILogger<TaskRunDispatcher>? logger = null)
{
    private readonly Lock _lock = new();
    // Copy-on-write per state, so dispatch reads without locking.
    private readonly Entry[][] _handlers = [.. Enumerable.Repeat(Array.Empty<Entry>(), Enum.GetValues<TaskState>().Length)];
    private Sink[] _sinks = [];
    private Action<TaskRun>[] _runSinks = [];

    /// <summary>Registers a handler for an event name; returns the handler it replaced, or null.</summary>
    /// <exception cref="ArgumentException">The name does not start with a state's wire name.</exception>
    public Action<TaskRun>? RegisterHandler(string eventName, Action<TaskRun> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var (state, tag) = ParseEvent(eventName);
        lock (_lock)
        {
            var current = _handlers[(int)state];
            var index = Array.FindIndex(current, e => e.Tag == tag);
            var copy = index >= 0 ? (Entry[])current.Clone() : [.. current, default];
            var previous = index >= 0 ? current[index].Handler : null;
            copy[index >= 0 ? index : copy.Length - 1] = new Entry(tag, handler);
            _handlers[(int)state] = copy;
            return previous;
        }
    }

    /// <summary>Removes the handler of an event name; returns it, or null if there was none.</summary>
    public Action<TaskRun>? UnregisterHandler(string eventName)
    {
        var (state, tag) = ParseEvent(eventName);
        lock (_lock)
        {
            var current = _handlers[(int)state];
            var index = Array.FindIndex(current, e => e.Tag == tag);
            if (index < 0)
                return null;
            _handlers[(int)state] = [.. current.Where((_, i) => i != index)];
            return current[index].Handler;
        }
    }

    /// <summary>The handler registered for an event name, or null.</summary>
    public Action<TaskRun>? GetHandler(string eventName)
    {
        var (state, tag) = ParseEvent(eventName);
        return Array.Find(_handlers[(int)state], e => e.Tag == tag).Handler;
    }

    /// <summary>Calls every handler of the run's current state with one snapshot; returns how many were called.</summary>
    public int Dispatch(TaskRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var handlers = _handlers[(int)run.State];
        var sinks = _sinks;
        var runSinks = _runSinks;
        if (handlers.Length == 0 && sinks.Length == 0 && runSinks.Length == 0)
            return 0;
        if (run.State != TaskState.Init)
        {
            foreach (var sink in runSinks)
            {
                try
                {
                    sink(run);
                }
                catch (Exception ex)
                {
                    if (logger is not null)
                        LogHandlerFailed(logger, ex, run.State.ToWire(), "*", run.NameId);
                }
            }
        }
        TaskRunEvent? evt = null;
        foreach (var sink in sinks)
        {
            if (run.State == TaskState.Init && !sink.WantsInit)
                continue;
            try
            {
                // One immutable event per change, shared by every sink (bus publisher, store writer).
                sink.Action(evt ??= run.ToEvent(TaskManager.WorkerName));
            }
            catch (Exception ex)
            {
                if (logger is not null)
                    LogHandlerFailed(logger, ex, run.State.ToWire(), "*", run.NameId);
            }
        }
        if (handlers.Length == 0)
            return 0;
        var snapshot = run.Snapshot();
        foreach (var entry in handlers)
            Invoke(entry.Handler, snapshot, entry.Tag);
        return handlers.Length;
    }

    /// <summary>
    /// Adds a consumer of every state change as an immutable event, not counted by <see cref="Dispatch"/>
    /// (the bus publisher, the store writer).
    /// </summary>
    internal void AddSink(Action<TaskRunEvent> sink, bool wantsInit = true)
    {
        lock (_lock)
            _sinks = [.. _sinks, new Sink(sink, wantsInit)];
    }

    /// <summary>
    /// Adds a consumer of every change after <c>init</c> that gets the live run, not a copy: it may only
    /// read it through <see cref="TaskRun.ToEvent"/>, which is safe while the run changes (the store writer).
    /// </summary>
    internal void AddRunSink(Action<TaskRun> sink)
    {
        lock (_lock)
            _runSinks = [.. _runSinks, sink];
    }

    internal static (TaskState State, string Tag) ParseEvent(string eventName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        var dot = eventName.IndexOf('.', StringComparison.Ordinal);
        var state = dot < 0 ? eventName : eventName[..dot];
        var tag = dot < 0 ? "" : eventName[(dot + 1)..];
        return (TaskStateExtensions.ParseState(state), tag);
    }

    private void Invoke(Action<TaskRun> handler, TaskRun snapshot, string tag)
    {
        try
        {
            handler(snapshot);
        }
        catch (Exception ex)
        {
            if (logger is not null)
                LogHandlerFailed(logger, ex, snapshot.State.ToWire(), tag, snapshot.NameId);
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Handler {State}.{Tag} failed for {Run}")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string state, string tag, string run);

    private readonly record struct Entry(string Tag, Action<TaskRun> Handler);

    private sealed record Sink(Action<TaskRunEvent> Action, bool WantsInit);
}
