using Microsoft.Extensions.Logging;
using TaskBus.Contracts.Tasks;
using TaskBus.Execution;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Holds a lock shared by every worker for ms milliseconds, logging when it took and gave it back.</summary>
[Task("locked", Description = "Holds the lock name for ms milliseconds, across workers")]
public sealed partial class LockedTask(TaskRunContext context, TimeProvider time, ILogger<LockedTask> logger) : ITask<Locked>
{
    public async Task ExecuteAsync(Locked parameters, CancellationToken cancellationToken)
    {
        await using (await context.LockAsync(parameters.Name, TimeSpan.FromSeconds(parameters.LockTimeout), cancellationToken))
        {
            var taken = Microseconds();
            await Task.Delay(parameters.Ms, cancellationToken);
            if (parameters.Error)
                throw new InvalidOperationException($"locked error, lock {parameters.Name} held");
            var released = Microseconds();
            LogHeld(logger, parameters.Name, context.Run.Id, taken, released);
        }
    }

    private long Microseconds() => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "lock {Name} held by {RunId} from {FromMicroseconds} to {ToMicroseconds}")]
    private static partial void LogHeld(ILogger logger, string name, string runId, long fromMicroseconds, long toMicroseconds);
}
