using TaskBus.Contracts;

namespace TaskBus.Consuming;

/// <summary>
/// A worker's run slots when its runs arrive through several queues (shards, a quorum queue per priority): each queue
/// hands over two runs more than the worker runs, and a slot that frees goes to the highest priority among the runs
/// waiting for one (then the longest waiting), so a low run taken from one queue never starts ahead of a high one taken
/// from another. Closed until every queue of the worker delivers (at start and after a pause), so the first queue up
/// does not fill the slots before the others had their turn.
/// </summary>
internal sealed class PrioritySlots
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource>[] _waiting = [new(), new(), new()];
    private int _free;
    private bool _open;

    public PrioritySlots(int slots, bool open = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _free = slots;
        _open = open;
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
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (_open && _free > 0)
            {
                _free--;
                return new Slot(this);
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiting[Index(priority)].AddLast(waiter);
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
        foreach (var list in _waiting)
        {
            if (list.First is { } first)
            {
                list.RemoveFirst();
                return first.Value;
            }
        }
        return null;
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
