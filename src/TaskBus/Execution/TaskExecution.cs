using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;

namespace TaskBus.Execution;

/// <summary>Runs one task run to a final state: the one place outcomes become states.</summary>
internal static class TaskExecution
{
    /// <summary>
    /// Moves the run to <c>running</c>, calls the task with a token cancelled at its timeout or at
    /// <paramref name="stopping"/>, then sets the final state: success, aborted, failure (error or
    /// timeout) or interrupted (stopping). Interrupted always rethrows, so the message goes back to
    /// the queue; other failures rethrow only when <paramref name="rethrow"/> is set.
    /// </summary>
    /// <returns>The task's own exception when the run ended <c>failure</c> because of it (not a timeout), else null.</returns>
    public static async Task<Exception?> RunAsync(
        TaskDescriptor task, TaskRun run, IServiceProvider scope, TimeProvider time, bool rethrow,
        CancellationToken stopping, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancellationToken);
        // One token source: cancelled by the caller, by shutdown, or at the timeout (on the given clock). The
        // timeout starts before the run is seen running, so a clock that moves on at that moment counts for it.
        using var timer = time == TimeProvider.System ? null : time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), linked, task.Timeout, Timeout.InfiniteTimeSpan);
        if (timer is null)
            linked.CancelAfter(task.Timeout);
        run.SetState(TaskState.Running);
        var context = scope.GetRequiredService<TaskRunContext>();
        try
        {
            context.Run = run;
            if (task.Isolated && !IsolatedRun.InChild)
                await IsolatedRun.RunAsync(task, run, scope.GetRequiredService<ILoggerFactory>().CreateLogger("TaskBus.Isolated"), linked.Token);
            else
                await task.Invoker!.InvokeAsync(scope, run.Params, linked.Token);
            run.SetState(TaskState.Success);
            return null;
        }
        catch (TaskAbortedException ex)
        {
            run.Error = ex.Message;
            run.SetState(TaskState.Aborted);
            return null;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            run.Error = "interrupted by shutdown";
            run.SetState(TaskState.Interrupted);
            throw;
        }
        catch (OperationCanceledException ex) when (linked.IsCancellationRequested)
        {
            run.Error = string.Create(CultureInfo.InvariantCulture, $"TimeoutException: task {task.Name} timed out after {task.Timeout.TotalSeconds:0.###} s");
            run.SetState(TaskState.Failure);
            if (rethrow)
                throw new TimeoutException(run.Error, ex);
            return null;
        }
        catch (Exception ex)
        {
            // A child's failure already reads "Type: message".
            run.Error = ex is IsolatedTaskException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            run.SetState(TaskState.Failure);
            if (rethrow)
                throw;
            // A TaskRunException is a misuse of the run, never retried (aio-fluid).
            return ex is TaskRunException ? null : ex;
        }
        finally
        {
            await context.ReleaseLocksAsync();
        }
    }
}
