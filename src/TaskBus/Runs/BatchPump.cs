using System.Threading.Channels;

namespace TaskBus.Runs;

/// <summary>
/// Moves items off the hot path: <see cref="Post"/> queues one, a single background loop hands them
/// on in batches, in order. <see cref="FlushAsync"/> waits until everything posted before it was
/// handed on. Stopping completes the queue and waits (as long as the caller allows) for what is left.
/// </summary>
internal sealed class BatchPump<T>(int maxBatch, Func<IReadOnlyList<T>, Task> handle)
{
    private readonly Channel<T> _pending = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _lock = new();
    private readonly Queue<(long Upto, TaskCompletionSource Done)> _waiters = new();
    private long _lastUpto;
    private TaskCompletionSource? _lastDone;
    private long _posted;
    private long _handled;
    private Task? _loop;

    /// <summary>Queues an item; false once stopping.</summary>
    public bool Post(T item)
    {
        // Counted before it is queued: a count read after an item was queued covers that item.
        Interlocked.Increment(ref _posted);
        if (_pending.Writer.TryWrite(item))
            return true;
        Interlocked.Decrement(ref _posted);
        return false;
    }

    /// <summary>Completes once every item posted before the call was handed on (or the pump stopped).</summary>
    public Task FlushAsync()
    {
        var upto = Interlocked.Read(ref _posted);
        lock (_lock)
        {
            if (_handled >= upto || _loop is null || _loop.IsCompleted)
                return Task.CompletedTask;
            // Each wait ends with the batch that covers its caller's items: a caller shares the latest wait only when
            // that one needs no more than it does. A wait shared by all and extended by every later caller would end
            // only once no caller came in a whole batch, and hold every waiter to the last one under steady load.
            if (_waiters.Count > 0 && _lastUpto >= upto)
                return _lastDone!.Task;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue((upto, done));
            (_lastUpto, _lastDone) = (upto, done);
            return done.Task;
        }
    }

    public void Start() => _loop ??= Task.Run(RunAsync, CancellationToken.None);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        if (_loop is not null)
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync()
    {
        var batch = new List<T>(maxBatch);
        while (await _pending.Reader.WaitToReadAsync())
        {
            while (batch.Count < maxBatch && _pending.Reader.TryRead(out var item))
                batch.Add(item);
            await handle(batch);
            Handled(batch.Count);
            batch.Clear();
        }
        Handled(long.MaxValue / 2);
    }

    private void Handled(long count)
    {
        lock (_lock)
        {
            _handled += count;
            while (_waiters.TryPeek(out var waiter) && waiter.Upto <= _handled)
                _waiters.Dequeue().Done.TrySetResult();
        }
    }
}
