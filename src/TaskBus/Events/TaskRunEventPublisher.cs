using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;

namespace TaskBus.Events;

/// <summary>
/// Publishes every state change this process makes as a <see cref="TaskRunEvent"/>, off the hot
/// path: the dispatcher only queues the event; one loop sends them in order, and flushes what is
/// left when the host stops (before the bus does). Events that cannot be sent are logged and dropped.
/// </summary>
internal sealed partial class TaskRunEventPublisher : IHostedService
{
    private readonly BatchPump<TaskRunEvent> _pump;
    private readonly ITaskRunEventSink _sink;
    private readonly ILogger _logger;

    public TaskRunEventPublisher(TaskManager manager, ITaskRunEventSink sink, ILogger<TaskRunEventPublisher> logger)
    {
        _sink = sink;
        _logger = logger;
        _pump = new BatchPump<TaskRunEvent>(256, SendAsync);
        manager.Dispatcher.AddSink(evt => _pump.Post(evt));
    }

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
            await _sink.SendAsync(batch, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogPublishFailed(_logger, ex, batch.Count);
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "{Count} TaskRunEvents could not be published")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, int count);
}
