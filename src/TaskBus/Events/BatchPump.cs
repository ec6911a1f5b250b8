using System.Threading.Channels;

namespace TaskBus.Events;

/// <summary>
/// Moves items off the hot path: <see cref="Post"/> queues one, a single background loop hands them
/// on in batches, in order. Stopping completes the queue and waits (as long as the caller allows)
/// for what is left to be handed on.
/// </summary>
internal sealed class BatchPump<T>(int maxBatch, Func<IReadOnlyList<T>, Task> handle)
{
    private readonly Channel<T> _pending = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _loop;

    /// <summary>Queues an item; false once stopping.</summary>
    public bool Post(T item) => _pending.Writer.TryWrite(item);

    /// <summary>True when nothing waits (the batch being handled may still run).</summary>
    public bool IsIdle => !_pending.Reader.TryPeek(out _);

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
            batch.Clear();
        }
    }
}
