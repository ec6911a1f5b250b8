namespace TaskBus.Scheduling;

/// <summary>When a task is queued periodically.</summary>
public abstract record TaskSchedule
{
    /// <summary>The schedule in aio-fluid's text form, e.g. <c>every(0:00:02)</c>.</summary>
    public abstract override string ToString();
}
