using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Testing;
using TaskBus.Contracts.Tasks;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.MassTransit;

/// <summary>
/// On the in-memory transport runs and their events cross the bus as raw JSON, with no envelope: what still has to
/// hold for the consumers on the same bus.
/// </summary>
public sealed class RawJsonBodyTests : IAsyncLifetime
{
    private readonly EventLog _log = new();
    private TestServices _services = null!;

    public async Task InitializeAsync() => _services = await TestServices.StartAsync(
        tasks: b => b.AddTask<TaskBus.Worker.Tasks.AddTask>().ConfigureBus((_, cfg) =>
        {
            // One at a time, as the dashboard's consumer takes them: events are sent in order, and consumed in order.
            cfg.ReceiveEndpoint("raw-json-events", e =>
            {
                e.ConcurrentMessageLimit = 1;
                e.Consumer(() => new EventConsumer(_log));
            });
            cfg.ReceiveEndpoint("raw-json-mine", e => e.Consumer(() => new MineConsumer()));
        }));

    public async Task DisposeAsync() => await _services.DisposeAsync();

    [Fact]
    public async Task ARun_TravelsAsRawJson_AndAPlainEventConsumerReceivesEachOfItsEvents_InOrder()
    {
        var run = await _services.Manager.QueueAsync("add", new Dictionary<string, object?> { ["a"] = 2, ["b"] = 3 });

        var consumed = await _services.Harness.Consumed.SelectAsync<Add>(m => m.Context.MessageId == run.Guid).FirstOrDefault();
        Assert.NotNull(consumed);
        Assert.Equal("application/json", consumed.Context.ReceiveContext.ContentType?.MediaType);
        Assert.Equal(2, consumed.Context.Message.A);
        Assert.Equal(3, consumed.Context.Message.B);
        Assert.Equal(Environment.MachineName, consumed.Context.Host?.MachineName);
        Assert.Contains(consumed.Context.SupportedMessageTypes, t => t.EndsWith(":Add", StringComparison.Ordinal));

        var events = await _log.WaitForAsync(run.Id);
        Assert.Equal([TaskState.Init, TaskState.Queued, TaskState.Running, TaskState.Success], events.Select(e => e.State));
        Assert.All(events, e => Assert.Equal("add", e.Task));
        Assert.Equal(2, events[0].Params?.GetProperty("a").GetInt32());
    }

    [Fact]
    public async Task TheUsersOwnMessages_KeepMassTransitsEnvelope()
    {
        var id = NewId.NextGuid();
        await _services.Harness.Bus.Publish(new Mine(id));

        var consumed = await _services.Harness.Consumed.SelectAsync<Mine>(m => m.Context.Message.Id == id).FirstOrDefault();
        Assert.NotNull(consumed);
        Assert.Equal("application/vnd.masstransit+json", consumed.Context.ReceiveContext.ContentType?.MediaType);
    }

    public sealed record Mine(Guid Id);

    private sealed class EventLog
    {
        private readonly ConcurrentDictionary<string, ConcurrentQueue<TaskRunEvent>> _byRun = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _ended = new();

        public void Add(TaskRunEvent evt)
        {
            _byRun.GetOrAdd(evt.Id, _ => new()).Enqueue(evt);
            if (evt.State is TaskState.Success or TaskState.Failure or TaskState.Aborted)
                _ended.GetOrAdd(evt.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        public async Task<List<TaskRunEvent>> WaitForAsync(string runId)
        {
            await _ended.GetOrAdd(runId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(30));
            return [.. _byRun[runId]];
        }
    }

    private sealed class EventConsumer(EventLog log) : IConsumer<TaskRunEvent>
    {
        public Task Consume(ConsumeContext<TaskRunEvent> context)
        {
            log.Add(context.Message);
            return Task.CompletedTask;
        }
    }

    private sealed class MineConsumer : IConsumer<Mine>
    {
        public Task Consume(ConsumeContext<Mine> context) => Task.CompletedTask;
    }
}
