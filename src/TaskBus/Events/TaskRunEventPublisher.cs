using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TaskBus.Events;

/// <summary>
/// Publishes every state change this process makes as a <see cref="Contracts.TaskRunEvent"/>,
/// off the hot path: the dispatcher only queues a snapshot; this loop publishes them in batches
/// of concurrent sends, and flushes what is left when the host stops (before the bus does).
/// </summary>
internal sealed partial class TaskRunEventPublisher : IHostedService
{
    private const int MaxInFlight = 256;
    private readonly Channel<TaskRun> _pending = Channel.CreateUnbounded<TaskRun>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IPublishEndpoint _bus;
    private readonly ILogger _logger;
    private Task? _loop;

    public TaskRunEventPublisher(TaskManager manager, IPublishEndpoint bus, ILogger<TaskRunEventPublisher> logger)
    {
        _bus = bus;
        _logger = logger;
        manager.Dispatcher.AddSink(run => _pending.Writer.TryWrite(run));
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
        var batch = new List<Task>(MaxInFlight);
        while (await _pending.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxInFlight && _pending.Reader.TryRead(out var run))
                batch.Add(_bus.Publish(run.ToEvent(TaskManager.WorkerName)));
            try
            {
                await Task.WhenAll(batch);
            }
            catch (Exception ex)
            {
                LogPublishFailed(_logger, ex, batch.Count(t => t.IsFaulted));
            }
            batch.Clear();
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "{Count} TaskRunEvents could not be published")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, int count);
}
