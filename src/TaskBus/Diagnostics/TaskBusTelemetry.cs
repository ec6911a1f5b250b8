using System.Diagnostics;
using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.Diagnostics;

/// <summary>
/// TaskBus's OpenTelemetry names: an <see cref="ActivitySource"/> and a <see cref="System.Diagnostics.Metrics.Meter"/>,
/// both <see cref="Name"/>. Turn them on with
/// <c>services.AddOpenTelemetry().WithTracing(t => t.AddSource("TaskBus", "MassTransit")).WithMetrics(m => m.AddMeter("TaskBus"));</c>
/// (MassTransit's source carries the trace from the span that queued a run to the span that runs it).
/// </summary>
public static class TaskBusTelemetry
{
    /// <summary>The name of TaskBus's activity source and meter.</summary>
    public const string Name = "TaskBus";

    internal static readonly ActivitySource Source = new(Name, typeof(TaskBusTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// Starts the span of one delivery of a run, a child of the current (MassTransit consume) span, so in the
    /// trace of the span that queued it. Null when nobody listens: no cost then.
    /// </summary>
    internal static Activity? StartRun(TaskRun run) =>
        Source.HasListeners() ? Source.StartActivity($"{run.Task} run", ActivityKind.Internal) : null;

    /// <summary>Ends a run's span with its outcome.</summary>
    internal static void EndRun(Activity activity, TaskRun run)
    {
        activity.SetTag("taskbus.task", run.Task);
        activity.SetTag("taskbus.run_id", run.Id);
        activity.SetTag("taskbus.state", run.State.ToWire());
        activity.SetTag("taskbus.priority", run.Priority.ToWire());
        activity.SetTag("taskbus.retry_attempt", run.RetryAttempt);
        activity.SetTag("taskbus.worker", ThisWorker.Name);
        if (run.ScheduledFor is { } tick)
            activity.SetTag("taskbus.scheduled_for", tick.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        if (run.State == TaskState.Failure)
            activity.SetStatus(ActivityStatusCode.Error, run.Error);
        else if (run.State.IsFinished())
            activity.SetStatus(ActivityStatusCode.Ok);
        activity.Dispose();
    }
}
