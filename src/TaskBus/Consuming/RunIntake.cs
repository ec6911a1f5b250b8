namespace TaskBus.Consuming;

/// <summary>
/// Whether this worker takes runs: while its group is paused, a delivered run waits here, before anything of it is
/// told, until the group resumes or its message is handed back (the receive endpoint stops once the runs already
/// running have finished).
/// </summary>
internal sealed class RunIntake
{
    private readonly Lock _lock = new();
    private TaskCompletionSource? _reopened;
    private int _inside;

    /// <summary>True while runs wait here.</summary>
    public bool IsClosed => Volatile.Read(ref _reopened) is not null;

    /// <summary>Runs that passed the intake and are not done yet (they may not have started).</summary>
    public int Inside => Volatile.Read(ref _inside);

    /// <summary>
    /// Passes a run: at once while open; while closed, once reopened (or throws when the delivery is handed back).
    /// Each run that passed calls <see cref="Leave"/> when done.
    /// </summary>
    public async Task EnterAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (Volatile.Read(ref _reopened) is { } closed)
            {
                await closed.Task.WaitAsync(cancellationToken);
                continue;
            }
            Interlocked.Increment(ref _inside);
            // Closed meanwhile: the one closing may have seen no run inside; this one waits too.
            if (Volatile.Read(ref _reopened) is null)
                return;
            Interlocked.Decrement(ref _inside);
        }
    }

    public void Leave() => Interlocked.Decrement(ref _inside);

    public void Close()
    {
        lock (_lock)
            _reopened ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Open()
    {
        TaskCompletionSource? reopened;
        lock (_lock)
            (reopened, _reopened) = (_reopened, null);
        reopened?.TrySetResult();
    }
}

/// <summary>Stops and starts the worker group's receive endpoint: how a paused worker hands back what it holds and takes nothing more.</summary>
internal interface IRunIntakeSwitch
{
    /// <summary>Stops taking messages; the ones held are handed back to the queue.</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>Takes messages again.</summary>
    Task StartAsync(CancellationToken cancellationToken);
}
