using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TaskBus.Runs;
using TaskBus.Tasks;

namespace TaskBus.Execution;

/// <summary>Runs one run of a task to its final state: where the outcome of the task's own code becomes a state.</summary>
internal sealed class TaskExecutor(RunLifecycle lifecycle, RunCancellations cancellations, ILoggerFactory loggers)
{
    private readonly ILogger _isolated = loggers.CreateLogger("TaskBus.Isolated");

    /// <summary>
    /// Moves the run to <c>running</c>, calls the task with a token cancelled at its timeout or at
    /// <paramref name="stopping"/>, then ends the run: success, aborted, failure (error or timeout) or interrupted
    /// (stopping, or <paramref name="cancellationToken"/>). Interrupted always rethrows, so the message goes back to
    /// the queue; other failures rethrow only when <paramref name="rethrow"/> is set.
    /// </summary>
    /// <param name="task">The run's task.</param>
    /// <param name="run">The run, in <c>queued</c> (or <c>init</c> for a run executed inline).</param>
    /// <param name="scope">The run's service scope: the task and its <see cref="TaskRunContext"/> come from it.</param>
    /// <param name="rethrow">Rethrow the task's own exception after the run ended <c>failure</c>.</param>
    /// <param name="stopping">Cancelled when the worker stops taking runs.</param>
    /// <param name="cancellationToken">Cancelled when the run's message is taken back (shutdown).</param>
    /// <remarks>
    /// A failure its task's retry policy gives another round is told with <see cref="TaskRun.WillRetry"/>: the caller
    /// sends that round.
    /// </remarks>
    public async Task RunAsync(
        TaskDescriptor task, TaskRun run, IServiceProvider scope, bool rethrow, CancellationToken stopping, CancellationToken cancellationToken)
    {
        var time = lifecycle.Time;
        // A cancel of the run, from this process or any other, stops it: it ends aborted and is never retried.
        using var cancel = cancellations.Enter(run.Id);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancellationToken, cancel.Token);
        // One token source: cancelled by the caller, by shutdown, or at the timeout (on the given clock). The
        // timeout starts before the run is seen running, so a clock that moves on at that moment counts for it.
        using var timer = time == TimeProvider.System ? null : time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), linked, task.Timeout, Timeout.InfiniteTimeSpan);
        if (timer is null)
            linked.CancelAfter(task.Timeout);
        lifecycle.Start(run);
        var context = scope.GetRequiredService<TaskRunContext>();
        try
        {
            context.Run = run;
            if (task.Isolated && !IsolatedRun.InChild)
                await IsolatedRun.RunAsync(task, run, _isolated, linked.Token);
            else
                await task.Invoker!.InvokeAsync(scope, run.Params, linked.Token);
            lifecycle.Succeed(run);
        }
        catch (TaskAbortedException ex)
        {
            lifecycle.Abort(run, ex.Message);
        }
        catch (OperationCanceledException) when (cancel.IsCancelled)
        {
            lifecycle.Abort(run, RunLifecycle.CancelledError(cancel.Reason!));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            lifecycle.Interrupt(run, "interrupted by shutdown");
            throw;
        }
        catch (OperationCanceledException ex) when (linked.IsCancellationRequested)
        {
            var error = string.Create(CultureInfo.InvariantCulture, $"TimeoutException: task {task.Name} timed out after {task.Timeout.TotalSeconds:0.###} s");
            lifecycle.Fail(run, error);
            if (rethrow)
                throw new TimeoutException(error, ex);
        }
        catch (Exception ex)
        {
            // A TaskRunException is a misuse of the run, never retried (aio-fluid); a run executed inline is never retried.
            var retried = !rethrow && ex is not TaskRunException && task.Retry is { } policy && policy.Follows(ex, run.RetryAttempt);
            // A child's failure already reads "Type: message".
            lifecycle.Fail(run, ex is IsolatedTaskException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}", retried);
            if (rethrow)
                throw;
        }
        finally
        {
            await context.ReleaseLocksAsync();
        }
    }
}
