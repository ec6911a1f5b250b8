using TaskBus.Contracts;

namespace TaskBus.Consuming;

/// <summary>
/// A worker's run slots when its runs arrive through several queues (shards, a quorum queue per priority): each queue
/// hands over two runs more than the worker runs, and a slot that frees goes to the highest priority among the runs
/// waiting for one (then the longest waiting), so a low run taken from one queue never starts ahead of a high one taken
/// from another. Closed until every queue of the worker delivers (at start and after a pause), so the first queue up
/// does not fill the slots before the others had their turn. A run held longer than <see cref="MaxWait"/> (higher runs
/// kept coming) takes the next slot whatever its priority: a held run's message stays unacknowledged, and RabbitMQ
/// closes a channel whose delivery waits past its <c>consumer_timeout</c> (30 minutes by default).
/// </summary>
internal sealed class PrioritySlots
{
    /// <summary>How long a run waits for a slot before it goes ahead of higher priorities.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);

    private readonly Lock _lock = new();
    private readonly LinkedList<(TaskCompletionSource Waiter, long Since)>[] _waiting = [new(), new(), new()];
    private readonly TimeProvider _time;
    private int _free;
    private bool _open;

    public PrioritySlots(int slots, bool open = false, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _free = slots;
        _open = open;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Runs waiting for a slot, by priority (high, medium, low).</summary>
    public (int High, int Medium, int Low) Waiting
    {
        get
        {
            lock (_lock)
                return (_waiting[0].Count, _waiting[1].Count, _waiting[2].Count);
        }
    }

    /// <summary>Waits for a slot for a run of this priority; dispose the slot when the run is done.</summary>
    public async ValueTask<Slot> TakeAsync(TaskPriority priority, CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        LinkedListNode<(TaskCompletionSource Waiter, long Since)> node;
        lock (_lock)
        {
            if (_open && _free > 0)
            {
                _free--;
                return new Slot(this);
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiting[Index(priority)].AddLast((waiter, _time.GetTimestamp()));
        }
        await using (cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                // Given a slot already: the caller has it, and gives it back.
                if (node.List is null)
                    return;
                node.List.Remove(node);
            }
            waiter.TrySetCanceled(cancellationToken);
        }))
        {
            await waiter.Task;
        }
        return new Slot(this);
    }

    /// <summary>Lets runs take slots: every queue of the worker delivers.</summary>
    public void Open()
    {
        List<TaskCompletionSource> granted = [];
        lock (_lock)
        {
            _open = true;
            while (_free > 0 && Dequeue() is { } next)
            {
                _free--;
                granted.Add(next);
            }
        }
        granted.ForEach(w => w.TrySetResult());
    }

    /// <summary>Holds the free slots until <see cref="Open"/>: runs that hold one keep it.</summary>
    public void Close()
    {
        lock (_lock)
            _open = false;
    }

    private void Release()
    {
        TaskCompletionSource? next;
        lock (_lock)
        {
            next = _open ? Dequeue() : null;
            if (next is null)
                _free++;
        }
        next?.TrySetResult();
    }

    private TaskCompletionSource? Dequeue()
    {
        // A run held past the longest wait goes first (the oldest such); else the highest priority, the longest waiting.
        LinkedList<(TaskCompletionSource Waiter, long Since)>? starved = null;
        foreach (var list in _waiting)
        {
            if (list.First is { } first && _time.GetElapsedTime(first.Value.Since) > MaxWait
                && (starved is null || first.Value.Since < starved.First!.Value.Since))
            {
                starved = list;
            }
        }
        var from = starved ?? _waiting.FirstOrDefault(l => l.First is not null);
        if (from?.First is not { } next)
            return null;
        from.RemoveFirst();
        return next.Value.Waiter;
    }

    private static int Index(TaskPriority priority) => priority switch
    {
        TaskPriority.High => 0,
        TaskPriority.Medium => 1,
        _ => 2,
    };

    /// <summary>A slot held by a run; disposing it hands it to the next waiting run of the highest priority.</summary>
    public readonly struct Slot(PrioritySlots owner) : IDisposable
    {
        public void Dispose() => owner.Release();
    }
}
