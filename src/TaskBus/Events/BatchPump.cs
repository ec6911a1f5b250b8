using System.Threading.Channels;

namespace TaskBus.Events;

/// <summary>
/// Moves items off the hot path: <see cref="Post"/> queues one, a single background loop hands them
/// on in batches, in order. <see cref="HandedOnAsync"/> waits until everything posted before it was
/// handed on. Stopping completes the queue and waits (as long as the caller allows) for what is left.
/// </summary>
internal sealed class BatchPump<T>(int maxBatch, Func<IReadOnlyList<T>, Task> handle)
{
    private readonly Channel<T> _pending = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _lock = new();
    private TaskCompletionSource? _waiting;
    private long _waitingUpto;
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
    public Task HandedOnAsync()
    {
        var upto = Interlocked.Read(ref _posted);
        lock (_lock)
        {
            if (_handled >= upto || _loop is null || _loop.IsCompleted)
                return Task.CompletedTask;
            // One wait shared by every caller until it completes: it lasts until the latest of them is handed on,
            // at most a batch longer for the others, and costs one allocation per batch, not one per caller.
            _waiting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waitingUpto = Math.Max(_waitingUpto, upto);
            return _waiting.Task;
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
            if (_waiting is not null && _waitingUpto <= _handled)
            {
                _waiting.TrySetResult();
                _waiting = null;
            }
        }
    }
}
