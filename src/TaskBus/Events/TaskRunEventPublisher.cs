using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;

namespace TaskBus.Events;

/// <summary>
/// Publishes every state change this process makes as a <see cref="TaskRunEvent"/>, off the hot
/// path: the dispatcher only queues a snapshot; one loop sends them in order, and flushes what is
/// left when the host stops (before the bus does). Events that cannot be sent are logged and dropped.
/// </summary>
internal sealed partial class TaskRunEventPublisher : IHostedService
{
    private const int MaxBatch = 256;
    private readonly Channel<TaskRunEvent> _pending = Channel.CreateUnbounded<TaskRunEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ITaskRunEventSink _sink;
    private readonly ILogger _logger;
    private Task? _loop;

    public TaskRunEventPublisher(TaskManager manager, ITaskRunEventSink sink, ILogger<TaskRunEventPublisher> logger)
    {
        _sink = sink;
        _logger = logger;
        manager.Dispatcher.AddSink(evt => _pending.Writer.TryWrite(evt));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        if (_loop is not null)
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync()
    {
        var batch = new List<TaskRunEvent>(MaxBatch);
        while (await _pending.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var evt))
                batch.Add(evt);
            try
            {
                await _sink.SendAsync(batch, CancellationToken.None);
            }
            catch (Exception ex)
            {
                LogPublishFailed(_logger, ex, batch.Count);
            }
            batch.Clear();
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "{Count} TaskRunEvents could not be published")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, int count);
}
