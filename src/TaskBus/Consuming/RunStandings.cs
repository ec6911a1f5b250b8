using TaskBus.Storage;

namespace TaskBus.Consuming;

/// <summary>
/// Reads what the store says of runs about to start (<see cref="ITaskStore.GetStandingsAsync"/>), many in one round
/// trip. With no linger (a store in this process) a run that finds no read in flight reads alone, at once; the runs
/// that arrive while a read is in flight wait for the next one, which takes them all. With a linger (a store across
/// the network) the first run waits that long for others to join its read: under load a read per run cost as much
/// client CPU as the rest of the run (PostgreSQL store: 270 µs a run against 132 µs without the read).
/// </summary>
internal sealed class RunStandings(ITaskStore store, TimeSpan linger = default)
{
    private const int MaxBatch = 1000;

    private readonly Lock _lock = new();
    private List<(string Id, TaskCompletionSource<RunStanding?> Done)> _pending = [];
    private bool _reading;

    /// <summary>What the store says of a run: null when it holds neither a final state nor a cancel of it.</summary>
    public async Task<RunStanding?> ReadAsync(string runId, CancellationToken cancellationToken)
    {
        TaskCompletionSource<RunStanding?>? waiter = null;
        var serve = false;
        lock (_lock)
        {
            if (_reading || linger > TimeSpan.Zero)
            {
                waiter = new TaskCompletionSource<RunStanding?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending.Add((runId, waiter));
                serve = !_reading;
            }
            _reading = true;
        }
        if (serve)
            _ = Task.Run(() => ServeAsync(linger), CancellationToken.None);
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
        _ = Task.Run(() => ServeAsync(TimeSpan.Zero), CancellationToken.None);
    }

    private async Task ServeAsync(TimeSpan wait)
    {
        // The others that arrive meanwhile join this read.
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait);
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
