using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskBus.Configuration;
using TaskBus.Runs;
using TaskBus.Serialization;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus.Consuming;

/// <summary>
/// Sends delayed runs when they are due: every <see cref="Interval"/> a consuming worker takes the runs of its tasks
/// that are due from the store, earliest first, a batch at a time, and sends each to the group's queue as it would
/// have been sent at queue time (still <c>queued</c>, nothing told). A run leaves the store only once the broker has
/// it; with PostgreSQL, workers share the due runs without sending one twice. A run whose params no longer fit its
/// task's record ends <c>failure</c> with the reason, instead of holding up the others.
/// </summary>
internal sealed partial class DelayedDispatcher(
    ITaskStore store, IRunSender sender, TaskRegistry registry, RunLifecycle lifecycle, IOptions<TaskBusOptions> options, TimeProvider time,
    ILogger<DelayedDispatcher> logger) : BackgroundService
{
    /// <summary>How often the store is asked for due runs: a run starts at most about this late, plus its send.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    private const int Batch = 500;

    private readonly string[] _tasks = [.. registry.Where(t => t.Invoker is not null).Select(t => t.Name)];
    private readonly string _queue = options.Value.QueueName;
    private bool _failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_tasks.Length == 0)
            return;
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                int sent;
                do
                    sent = await store.SendDueAsync(time.GetUtcNow(), _queue, _tasks, Batch, batch => SendAsync(batch, stoppingToken), stoppingToken);
                while (sent == Batch && !_failing);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The store or the broker is away: the runs stay in the store and are tried again at the next tick.
                if (!_failing)
                    LogSendFailed(logger, ex.GetType().Name, ex.Message);
                _failing = true;
            }
        }
    }

    /// <summary>Sends each run on its own; answers those the broker took (or that ended unsendable): only those leave the store.</summary>
    private async Task<IReadOnlyCollection<string>> SendAsync(IReadOnlyList<DelayedRun> batch, CancellationToken cancellationToken)
    {
        var outcomes = await Task.WhenAll(batch.Select(async run =>
        {
            try
            {
                await SendOneAsync(run, cancellationToken);
                return (run.RunId, Error: (Exception?)null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return (run.RunId, Error: ex);
            }
        }));
        var failed = outcomes.FirstOrDefault(o => o.Error is not null).Error;
        // The broker or the store is away: the runs not sent stay in the store and are tried again at the next tick.
        if (failed is not null && !_failing)
            LogSendFailed(logger, failed.GetType().Name, failed.Message);
        _failing = failed is not null;
        return [.. outcomes.Where(o => o.Error is null).Select(o => o.RunId)];
    }

    private async Task SendOneAsync(DelayedRun delayed, CancellationToken cancellationToken)
    {
        var id = Guid.ParseExact(delayed.RunId, "N");
        if (!RunHeader.TryParse(delayed.Header, out var header) || !registry.TryGet(delayed.Task, out var task))
        {
            lifecycle.Unprocessable(id, null, $"UnknownTaskException: the delayed run of task '{delayed.Task}' cannot be sent: no such task here, or its header does not read");
            return;
        }
        object parameters;
        try
        {
            parameters = JsonSerializer.Deserialize(delayed.Params, task.ParamsType, TaskBusJson.Options)
                ?? throw new JsonException("the params are null");
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            lifecycle.Unprocessable(id, header, $"TaskParamsException: the delayed run's params no longer fit task {task.Name}: {ex.Message}");
            return;
        }
        var run = RunFactory.FromHeader(id, task.Name, header with { ExpiresAt = RunHeader.ParseExpires(delayed.Expires), Due = delayed.Due }, parameters, redelivered: false);
        await sender.SendAsync(task, run, TimeSpan.Zero, null, cancellationToken);
        var late = time.GetUtcNow() - delayed.Due;
        LogSent(logger, task.Name, delayed.RunId, late.TotalMilliseconds);
    }

    [LoggerMessage(EventId = 1613, Level = LogLevel.Debug, Message = "Sent the delayed run {Task}.{RunId}, {LateMs:0} ms after it was due")]
    private static partial void LogSent(ILogger logger, string task, string runId, double lateMs);

    [LoggerMessage(EventId = 1614, Level = LogLevel.Warning, Message = "Delayed runs could not be sent ({Error}: {Message}); they stay in the store and are tried again")]
    private static partial void LogSendFailed(ILogger logger, string error, string message);
}
