using System.Diagnostics.Metrics;
using TaskBus.Client;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Storage;

namespace TaskBus.Diagnostics;

/// <summary>
/// The instruments of the <c>TaskBus</c> meter: runs by task and final state, run duration, runs in progress
/// in this process, and the task queue's length (read from the broker at most once a second, never on the
/// exporter's thread).
/// </summary>
internal sealed class TaskBusMetrics : IRunSink, Microsoft.Extensions.Hosting.IHostedService, IDisposable
{
    private static readonly TimeSpan QueueLengthMaxAge = TimeSpan.FromSeconds(1);
    private readonly Meter _meter;
    private readonly Counter<long> _runs;
    private readonly Histogram<double> _duration;
    private readonly IQueueControl _queue;
    private readonly TimeProvider _time;
    private long? _queueLength;
    private long _queueLengthReadAt;
    private int _reading;

    private readonly Counter<long> _cancelled;
    private readonly Counter<long> _expired;

    public TaskBusMetrics(IMeterFactory meters, RunsInProgress? running, IQueueControl queue, StoreOutage outage, TimeProvider time, RunTally? tally = null)
    {
        _queue = queue;
        _time = time;
        _meter = meters.Create(TaskBusTelemetry.Name);
        _runs = _meter.CreateCounter<long>("taskbus.runs", "{run}", "Runs that reached a final state, by task and state.");
        _duration = _meter.CreateHistogram<double>("taskbus.run.duration", "ms", "How long runs took, from start to end, by task and state.");
        if (running is not null)
            _meter.CreateObservableGauge("taskbus.runs.running", () => running.Count, "{run}", "Runs in progress in this process.");
        _meter.CreateObservableCounter(
            "taskbus.runs.held_back", () => outage.RunsHeldBack, "{run}", "Runs that waited for the store while it could not be reached (once per outage).");
        _cancelled = _meter.CreateCounter<long>("taskbus.runs.cancelled", "{run}", "Runs ended aborted by a cancel, by task (counted where they ended).");
        _expired = _meter.CreateCounter<long>("taskbus.runs.expired", "{run}", "Runs ended aborted because a worker received them after their expiry, by task.");
        if (tally is not null)
        {
            _meter.CreateObservableCounter("taskbus.runs.deduplicated", () => tally.Deduplicated, "{run}", "Queue calls that sent nothing: a run of the same task and unique key was queued or running.");
            _meter.CreateObservableCounter("taskbus.ticks.skipped", () => tally.Skipped, "{tick}", "Ticks that queued nothing: the task's previous run was queued or running (overlap Skip).");
        }
        _meter.CreateObservableGauge("taskbus.queue.length", ObserveQueueLength, "{message}", "Task messages waiting in this group's queue.");
    }

    public bool WantsInit => false;

    public bool WantsEvent => false;

    public void OnChanged(TaskRun run, TaskRunEvent? change)
    {
        if (!run.State.IsFinished())
            return;
        var task = new KeyValuePair<string, object?>("taskbus.task", run.Task);
        var state = new KeyValuePair<string, object?>("taskbus.state", run.State.ToWire());
        _runs.Add(1, task, state);
        if (run.State == TaskState.Aborted && run.Error is { } error)
        {
            if (error.StartsWith("cancelled", StringComparison.Ordinal))
                _cancelled.Add(1, task);
            else if (error == "expired")
                _expired.Add(1, task);
        }
        if (run.Start is { } start && run.End is { } end)
            _duration.Record((end - start).TotalMilliseconds, task, state);
    }

    private IEnumerable<Measurement<long>> ObserveQueueLength()
    {
        var now = _time.GetTimestamp();
        var readAt = Volatile.Read(ref _queueLengthReadAt);
        if ((readAt == 0 || _time.GetElapsedTime(readAt, now) > QueueLengthMaxAge) && Interlocked.Exchange(ref _reading, 1) == 0)
            _ = RefreshQueueLengthAsync(now);
        return _queueLength is { } length ? [new Measurement<long>(length)] : [];
    }

    private async Task RefreshQueueLengthAsync(long now)
    {
        try
        {
            _queueLength = await _queue.GetLengthAsync(CancellationToken.None).ConfigureAwait(false);
            Volatile.Write(ref _queueLengthReadAt, now);
        }
#pragma warning disable CA1031 // A gauge that cannot be read reports nothing; the broker's absence shows in health.
        catch (Exception)
#pragma warning restore CA1031
        {
            _queueLength = null;
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    // The host creates it at start through this, so its gauges exist before the first run.
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _meter.Dispose();
}
