using System.Collections.Concurrent;
using TaskBus.Execution;

namespace TaskBus.Tests.Support;

/// <summary>Params of the held tasks: the gate a run waits at until the test opens it.</summary>
public sealed record Held
{
    public string Gate { get; init; } = "";
}

/// <summary>Params of <see cref="HeldRetryTask"/>.</summary>
public sealed record HeldRetry
{
    public string Gate { get; init; } = "";
}

/// <summary>A task limited to one run at once that runs until its gate opens: a test decides when runs overlap.</summary>
[Task("held", MaxConcurrency = 1)]
public sealed class HeldTask : ITask<Held>
{
    public Task ExecuteAsync(Held parameters, CancellationToken cancellationToken) => Gates.WaitAsync(parameters.Gate, cancellationToken);
}

/// <summary>As <see cref="HeldTask"/>, and a run over the limit is queued again instead of ending rate_limited.</summary>
[Task("held_retry", MaxConcurrency = 1)]
[RateLimitRetry(MaxAttempts = 5, WaitSeconds = 0)]
public sealed class HeldRetryTask : ITask<HeldRetry>
{
    public Task ExecuteAsync(HeldRetry parameters, CancellationToken cancellationToken) => Gates.WaitAsync(parameters.Gate, cancellationToken);
}

/// <summary>Named gates shared by the held tasks and the tests; an empty name is always open.</summary>
public static class Gates
{
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Opened = new();

    /// <summary>A gate name no other test uses.</summary>
    public static string New() => Guid.NewGuid().ToString("N");

    public static Task WaitAsync(string gate, CancellationToken cancellationToken) =>
        gate.Length == 0 ? Task.CompletedTask : Of(gate).Task.WaitAsync(cancellationToken);

    public static void Open(string gate) => Of(gate).TrySetResult();

    private static TaskCompletionSource Of(string gate) => Opened.GetOrAdd(gate, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>Params of <see cref="HeldUniqueTask"/>.</summary>
public sealed record HeldUnique
{
    public string Gate { get; init; } = "";

    public double Amount { get; init; }

    public string Note { get; init; } = "";
}

/// <summary>As <see cref="HeldTask"/>, unique by params and without a concurrency limit.</summary>
[Task("held_unique", Unique = true)]
public sealed class HeldUniqueTask : ITask<HeldUnique>
{
    public Task ExecuteAsync(HeldUnique parameters, CancellationToken cancellationToken) => Gates.WaitAsync(parameters.Gate, cancellationToken);
}

/// <summary>Params of <see cref="FailingTask"/>.</summary>
public sealed record Failing
{
    public int N { get; init; }
}

/// <summary>Always fails, with no concurrency limit and no retry.</summary>
[Task("failing")]
public sealed class FailingTask : ITask<Failing>
{
    public Task ExecuteAsync(Failing parameters, CancellationToken cancellationToken) => throw new InvalidOperationException($"failing {parameters.N}");
}

/// <summary>Params of <see cref="ProgressTask"/>.</summary>
public sealed record Reporting
{
    public string Gate { get; init; } = "";
}

/// <summary>Reports progress three times at once (0.1, 0.3, 0.5 "half way"), then waits at its gate.</summary>
[Task("reporting")]
public sealed class ProgressTask(TaskRunContext context) : ITask<Reporting>
{
    public async Task ExecuteAsync(Reporting parameters, CancellationToken cancellationToken)
    {
        await context.ReportProgressAsync(0.1, "starting", cancellationToken);
        await context.ReportProgressAsync(0.3, null, cancellationToken);
        await context.ReportProgressAsync(0.5, "half way", cancellationToken);
        await Gates.WaitAsync(parameters.Gate, cancellationToken);
    }
}
