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
    private readonly BatchPump<TaskRunEvent> _pump;
    private readonly IRunEventTransport _transport;
    private readonly ILogger _logger;

    public RunEventPublisher(IRunEventTransport transport, ILogger<RunEventPublisher> logger)
    {
        _transport = transport;
        _logger = logger;
        _pump = new BatchPump<TaskRunEvent>(256, SendAsync);
    }

    public bool WantsInit => true;

    public bool WantsEvent => true;

    public void OnChanged(TaskRun run, TaskRunEvent? change) => _pump.Post(change!);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _pump.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _pump.StopAsync(cancellationToken);

    private async Task SendAsync(IReadOnlyList<TaskRunEvent> batch)
    {
        try
        {
            await _transport.SendAsync(batch, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogPublishFailed(_logger, ex, batch.Count);
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "{Count} TaskRunEvents could not be published")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, int count);
}
