using System.Collections.Concurrent;

namespace TaskBus.Runs;

/// <summary>The runs this process is working on, in all and per task: the consume path counts them, status and metrics read them.</summary>
internal sealed class RunsInProgress
{
    private readonly ConcurrentDictionary<string, Counter> _byTask = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>Runs in progress.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Runs of one task in progress.</summary>
    public int CountOf(string task) => _byTask.TryGetValue(task, out var counter) ? Volatile.Read(ref counter.Value) : 0;

    /// <summary>Runs in progress by task, for tasks with any.</summary>
    public Dictionary<string, int> ByTask() =>
        _byTask.Where(p => p.Value.Value > 0).ToDictionary(p => p.Key, p => p.Value.Value, StringComparer.Ordinal);

    /// <summary>A delivered run is being worked on (until <see cref="Leave"/>), whether it runs or not.</summary>
    public void Enter() => Interlocked.Increment(ref _count);

    /// <summary>See <see cref="Enter"/>.</summary>
    public void Leave() => Interlocked.Decrement(ref _count);

    /// <summary>Takes one of a task's <paramref name="max"/> places in this process (no limit when 0); false when all are taken.</summary>
    public bool TryStart(string task, int max) => _byTask.GetOrAdd(task, static _ => new Counter()).TryTake(max);

    /// <summary>Gives back a place taken by <see cref="TryStart"/>.</summary>
    public void Finish(string task) => Interlocked.Decrement(ref _byTask[task].Value);

    private sealed class Counter
    {
        public int Value;

        public bool TryTake(int max)
        {
            while (true)
            {
                var current = Volatile.Read(ref Value);
                if (max > 0 && current >= max)
                    return false;
                if (Interlocked.CompareExchange(ref Value, current + 1, current) == current)
                    return true;
            }
        }
    }
}
