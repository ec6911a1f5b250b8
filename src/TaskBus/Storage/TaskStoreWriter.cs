using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.Storage;

/// <summary>
/// Writes every state change this process makes to the store, off the hot path and in batches; runs of tasks
/// tagged <c>skip_db</c>, and runs still in <c>init</c>, are not stored. A run waits in the writer's queue at most
/// once: when its turn comes the writer reads its state as it is then, so changes that follow each other quickly
/// (queued, running, success) cost one write. While the store cannot be reached a batch is tried again until it is
/// back, however long that takes, and <see cref="FlushAsync"/> waits with it: a consumer acknowledges a run's message
/// only once its final state is stored. A batch the store refuses for another reason is tried a few times, then
/// logged and dropped; one still waiting for an unreachable store when the process stops is logged as lost.
/// </summary>
internal sealed partial class TaskStoreWriter : IRunSink, IRunRecord, IHostedService
{
    /// <summary>Runs of tasks with this tag are not stored.</summary>
    public const string SkipTag = "skip_db";

    // The runs waiting to be written, by reference: a retry is another round (another run object) of the same id.
    private readonly ConcurrentDictionary<TaskRun, byte> _waiting = new(ReferenceEqualityComparer.Instance);
    private readonly BatchPump<TaskRun> _pump;
    private readonly ITaskStore _store;
    private readonly StoreOutage _outage;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public TaskStoreWriter(ITaskStore store, StoreOutage outage, TaskRegistry registry, TimeProvider time, ILogger<TaskStoreWriter> logger)
    {
        _store = store;
        _outage = outage;
        _registry = registry;
        _time = time;
        _logger = logger;
        _pump = new BatchPump<TaskRun>(500, WriteAsync);
    }

    public bool WantsInit => false;

    public bool WantsEvent => false;

    public void OnChanged(TaskRun run, TaskRunEvent? change)
    {
        if (_registry.TryGet(run.Task, out var task) && task.Tags.Contains(SkipTag))
            return;
        // A change to a run already waiting is written with it: the writer reads the run when its turn comes.
        if (_waiting.TryAdd(run, 0) && !_pump.Post(run))
            _waiting.TryRemove(run, out _);
    }

    /// <summary>Progress is kept with the run: written as a change of it, at most once a second (the task's reports are).</summary>
    public void OnProgress(TaskRun run, TaskRunProgress progress) => OnChanged(run, null);

    /// <summary>Completes once every change made before the call is written (or given up on).</summary>
    public Task FlushAsync() => _pump.FlushAsync();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _pump.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A batch waiting for an unreachable store gives up when the host stops waiting for this: the process is going.
        await using var giveUp = cancellationToken.Register(() => _stopped.TrySetResult());
        await _pump.StopAsync(cancellationToken);
    }

    private async Task WriteAsync(IReadOnlyList<TaskRun> runs)
    {
        var batch = new List<TaskRunEvent>(runs.Count);
        foreach (var run in runs)
        {
            _waiting.TryRemove(run, out _);
            batch.Add(run.ToEvent(ThisWorker.Name));
        }
        for (int attempt = 1, outageAttempt = 0; ; )
        {
            var mark = _outage.Mark;
            try
            {
                await _store.UpsertRunsAsync(batch, CancellationToken.None);
                _outage.Reached();
                break;
            }
            catch (Exception ex) when (_outage.IsOutage(ex))
            {
                // A failure of a call begun before the store was seen back is no new outage: try again at once.
                var noted = false;
                foreach (var run in batch)
                    noted |= _outage.Unreachable(ex, run.Id, mark);
                if (!noted)
                    continue;
                var wait = _outage.WaitAsync(outageAttempt++, CancellationToken.None);
                if (await Task.WhenAny(wait, _stopped.Task) != wait)
                {
                    LogLostAtStop(_logger, batch.Count);
                    break;
                }
            }
            catch (Exception ex) when (attempt < 5)
            {
                LogWriteRetry(_logger, ex, batch.Count, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt++), _time);
            }
            catch (Exception ex)
            {
                LogWriteFailed(_logger, ex, batch.Count);
                break;
            }
        }
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Storing {Count} run changes failed (attempt {Attempt}); trying again")]
    private static partial void LogWriteRetry(ILogger logger, Exception exception, int count, int attempt);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Error, Message = "Storing {Count} run changes failed; they are not in the history")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 1508, Level = LogLevel.Error, Message = "Stopping with {Count} run changes not in the history: the store could not be reached")]
    private static partial void LogLostAtStop(ILogger logger, int count);
}
