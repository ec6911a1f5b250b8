using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;

namespace TaskBus.Runs;

/// <summary>
/// Publishes every state change this process makes as a <see cref="TaskRunEvent"/>, off the hot path: a change only
/// queues its event; one loop sends them in order, and sends what is left when the host stops (before the bus
/// does). Events that cannot be sent are logged and dropped: they are notifications, the store is the record.
/// </summary>
internal sealed partial class RunEventPublisher : IRunSink, IHostedService
{
    private readonly BatchPump<Outgoing> _pump;
    private readonly IRunEventTransport _transport;
    private readonly ILogger _logger;

    public RunEventPublisher(IRunEventTransport transport, ILogger<RunEventPublisher> logger)
    {
        _transport = transport;
        _logger = logger;
        _pump = new BatchPump<Outgoing>(256, SendAsync);
    }

    public bool WantsInit => true;

    public bool WantsEvent => true;

    public void OnChanged(TaskRun run, TaskRunEvent? change) => _pump.Post(new Outgoing(change!, null));

    public void OnProgress(TaskRun run, TaskRunProgress progress) => _pump.Post(new Outgoing(null, progress));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _pump.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _pump.StopAsync(cancellationToken);

    private async Task SendAsync(IReadOnlyList<Outgoing> batch)
    {
        // Events in runs between progress reports, in the order they were made.
        var events = new List<TaskRunEvent>(batch.Count);
        try
        {
            foreach (var item in batch)
            {
                if (item.Event is { } evt)
                {
                    events.Add(evt);
                    continue;
                }
                if (events.Count > 0)
                {
                    await _transport.SendAsync(events, CancellationToken.None);
                    events.Clear();
                }
                await _transport.SendProgressAsync(item.Progress!, CancellationToken.None);
            }
            if (events.Count > 0)
                await _transport.SendAsync(events, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogPublishFailed(_logger, ex, batch.Count);
        }
    }

    /// <summary>A state change's event, or a progress report.</summary>
    private readonly record struct Outgoing(TaskRunEvent? Event, TaskRunProgress? Progress);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "{Count} TaskRunEvents could not be published")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, int count);
}
