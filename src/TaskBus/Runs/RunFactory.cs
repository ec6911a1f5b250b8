using TaskBus.Contracts;
using TaskBus.Tasks;

namespace TaskBus.Runs;

/// <summary>
/// Where every <see cref="TaskRun"/> object comes from: a new run, a run rebuilt from its message, the next round of
/// a run. A run is built in <c>init</c>, or in <c>queued</c> when its message says it was queued; it moves on only
/// through <see cref="RunLifecycle"/>.
/// </summary>
internal static class RunFactory
{
    /// <summary>A new run in <c>init</c>; the params are checked against the task's record here.</summary>
    /// <exception cref="TaskParamsException">The params do not fit.</exception>
    public static TaskRun New(TaskDescriptor task, object? parameters, Guid id, TaskPriority? priority = null, DateTimeOffset? scheduledFor = null, TaskRun? parent = null) =>
        new(id, task.Name, priority ?? task.Priority, task.CreateParams(parameters))
        {
            ScheduledFor = scheduledFor,
            FromRunId = parent?.Id ?? "",
            RootRunId = parent is null ? "" : parent.RootRunId.Length > 0 ? parent.RootRunId : parent.Id,
        };

    /// <summary>A new run in <c>init</c> that does again what the run <paramref name="fromRunId"/> failed to do: linked to it by <c>fromRunId</c>.</summary>
    /// <exception cref="TaskParamsException">The params do not fit.</exception>
    public static TaskRun Again(TaskDescriptor task, object? parameters, Guid id, string fromRunId) =>
        new(id, task.Name, task.Priority, task.CreateParams(parameters)) { FromRunId = fromRunId, RootRunId = fromRunId };

    /// <summary>Gives a run in <c>init</c> the terms it is queued with: its unique key, when it is due (delayed) and when it expires.</summary>
    public static void SetTerms(TaskRun run, string? uniqueKey, DateTimeOffset? due, DateTimeOffset? expiresAt)
    {
        run.UniqueKey = uniqueKey;
        run.Due = due;
        run.ExpiresAt = expiresAt;
    }

    /// <summary>A run as its message tells it: in <c>queued</c> when the message carries a run header, else in <c>init</c> (a plain publish).</summary>
    public static TaskRun FromMessage(Guid id, TaskDescriptor task, RunHeader? header, object parameters, bool redelivered) => header is { } h
        ? FromHeader(id, task.Name, h, parameters, redelivered)
        : new TaskRun(id, task.Name, task.Priority, parameters) { Redelivered = redelivered };

    /// <summary>
    /// A run as its run header tells it, in <c>queued</c>. <paramref name="parameters"/> is null where they cannot be
    /// read (a message that could not be processed, or that was taken out of its queue unread).
    /// </summary>
    public static TaskRun FromHeader(Guid id, string task, in RunHeader header, object? parameters, bool redelivered) =>
        new(id, task, header.Priority, parameters ?? Unreadable.Params, header.Queued)
        {
            FromRunId = header.FromRunId,
            RootRunId = header.RootRunId,
            RetryAttempt = header.RetryAttempt,
            RateLimitAttempt = header.RateLimitAttempt,
            ScheduledFor = header.ScheduledFor,
            Redelivered = redelivered,
            ExpiresAt = header.ExpiresAt,
            Due = header.Due,
        };

    /// <summary>
    /// A run as the store holds it, in <c>queued</c>: to end a run that this process did not queue (a cancel). It stays in
    /// its own worker group, whichever group's process ends it.
    /// </summary>
    public static TaskRun FromStored(TaskRunEvent stored)
    {
        var run = new TaskRun(Guid.ParseExact(stored.Id, "N"), stored.Task, stored.Priority, stored.Params ?? (object)Unreadable.Params, stored.Queued ?? DateTimeOffset.UnixEpoch)
        {
            FromRunId = stored.FromRunId,
            RootRunId = stored.RootRunId,
            RetryAttempt = stored.RetryAttempt,
            RateLimitAttempt = stored.RateLimitAttempt,
            ScheduledFor = stored.ScheduledFor,
            Redelivered = stored.Redelivered,
            Due = stored.Due,
        };
        run.JoinGroup(stored.Queue);
        return run;
    }

    /// <summary>
    /// The run that holds the unique key another was queued with, as that other run knows it: the holder's id, the
    /// asked run's task and params, in <c>queued</c>, marked <see cref="TaskRun.Deduplicated"/>; the lifecycle adopts
    /// what the store holds of it, where it holds anything.
    /// </summary>
    public static TaskRun Held(string holderId, TaskRun asked, DateTimeOffset now) =>
        new(Guid.ParseExact(holderId, "N"), asked.Task, asked.Priority, asked.Params, now)
        {
            Deduplicated = true,
            UniqueKey = asked.UniqueKey,
            ExpiresAt = asked.ExpiresAt,
        };

    /// <summary>A run of a message that tells nothing of its run but its id, queued at <paramref name="queued"/>.</summary>
    public static TaskRun Unknown(Guid id, DateTimeOffset queued) => new(id, "unknown", TaskPriority.Low, Unreadable.Params, queued);

    /// <summary>
    /// The next round of a run: same id, params and lineage, the attempts given, in <c>init</c> (or <c>queued</c> at
    /// <paramref name="queued"/>). It is no tick's run any more: its tick was claimed by the round before.
    /// </summary>
    public static TaskRun NextRound(TaskRun run, int retryAttempt, int rateLimitAttempt, DateTimeOffset? queued = null) =>
        new(run.Guid, run.Task, run.Priority, run.Params, queued)
        {
            FromRunId = run.FromRunId,
            RootRunId = run.RootRunId,
            RetryAttempt = retryAttempt,
            RateLimitAttempt = rateLimitAttempt,
            UniqueKey = run.UniqueKey,
            ExpiresAt = run.ExpiresAt,
        };

    /// <summary>Stands for params a message carried but that could not be read.</summary>
    private sealed class Unreadable
    {
        public static readonly Unreadable Params = new();
    }
}
