using System.Collections.Concurrent;

namespace TaskBus.Tests.Support;

/// <summary>Records every state change a manager's handlers see, and lets a test wait for one.</summary>
public sealed class RunRecorder
{
    private readonly ConcurrentQueue<TaskRun> _events = new();
    private readonly List<(Func<TaskRun, bool> Match, TaskCompletionSource<TaskRun> Done)> _waiters = [];
    private readonly Lock _lock = new();

    public RunRecorder(TaskManager manager)
    {
        foreach (var state in Enum.GetValues<TaskState>())
            manager.RegisterHandler(state.ToWire() + ".recorder", Record);
    }

    public IReadOnlyList<TaskRun> Events => [.. _events];

    public IReadOnlyList<TaskState> StatesOf(string runId) => [.. _events.Where(e => e.Id == runId).Select(e => e.State)];

    /// <summary>Waits for a matching event (also one already seen); fails the test after 30 s.</summary>
    public Task<TaskRun> WaitFor(Func<TaskRun, bool> match)
    {
        lock (_lock)
        {
            var seen = _events.FirstOrDefault(match);
            if (seen is not null)
                return Task.FromResult(seen);
            var done = new TaskCompletionSource<TaskRun>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            return done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public Task<TaskRun> WaitForFinal(string runId) => WaitFor(e => e.Id == runId && e.IsDone);

    private void Record(TaskRun run)
    {
        lock (_lock)
        {
            _events.Enqueue(run);
            foreach (var waiter in _waiters.Where(w => w.Match(run)).ToList())
            {
                waiter.Done.TrySetResult(run);
                _waiters.Remove(waiter);
            }
        }
    }
}
