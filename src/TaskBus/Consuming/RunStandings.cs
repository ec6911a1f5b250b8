using TaskBus.Storage;

namespace TaskBus.Consuming;

/// <summary>
/// Reads what the store says of runs about to start (<see cref="ITaskStore.GetStandingsAsync"/>), many in one round
/// trip: a run that finds no read in flight reads alone, at once; the runs that arrive while a read is in flight wait
/// for the next one, which takes them all. Under load a read per run would cost as much as the rest of the run.
/// </summary>
internal sealed class RunStandings(ITaskStore store)
{
    private const int MaxBatch = 1000;

    private readonly Lock _lock = new();
    private List<(string Id, TaskCompletionSource<RunStanding?> Done)> _pending = [];
    private bool _reading;

    /// <summary>What the store says of a run: null when it holds neither a final state nor a cancel of it.</summary>
    public async Task<RunStanding?> ReadAsync(string runId, CancellationToken cancellationToken)
    {
        TaskCompletionSource<RunStanding?>? waiter = null;
        lock (_lock)
        {
            if (_reading)
            {
                waiter = new TaskCompletionSource<RunStanding?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending.Add((runId, waiter));
            }
            else
            {
                _reading = true;
            }
        }
        if (waiter is not null)
            return await waiter.Task.WaitAsync(cancellationToken);
        try
        {
            var found = await store.GetStandingsAsync([runId], cancellationToken);
            return found.TryGetValue(runId, out var standing) ? standing : null;
        }
        finally
        {
            HandOn();
        }
    }

    private void HandOn()
    {
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                _reading = false;
                return;
            }
        }
        _ = Task.Run(ServeAsync);
    }

    private async Task ServeAsync()
    {
        while (true)
        {
            List<(string Id, TaskCompletionSource<RunStanding?> Done)> batch;
            lock (_lock)
            {
                if (_pending.Count == 0)
                {
                    _reading = false;
                    return;
                }
                if (_pending.Count <= MaxBatch)
                    (batch, _pending) = (_pending, []);
                else
                {
                    batch = _pending[..MaxBatch];
                    _pending.RemoveRange(0, MaxBatch);
                }
            }
            try
            {
                // Shared by every waiting run, so no one run's cancellation ends it.
                var found = await store.GetStandingsAsync([.. batch.Select(b => b.Id).Distinct(StringComparer.Ordinal)], CancellationToken.None);
                foreach (var (id, done) in batch)
                    done.TrySetResult(found.TryGetValue(id, out var standing) ? standing : null);
            }
            catch (Exception ex)
            {
                foreach (var (_, done) in batch)
                    done.TrySetException(ex);
            }
        }
    }
}
