using System.Text.Json;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.IntegrationTests.Support;
using TaskBus.Serialization;

namespace TaskBus.IntegrationTests;

/// <summary>
/// Two worker groups on one broker: every group publishes its events to the same exchange, each says its group, and
/// a group's dashboard stream and <c>watch</c> show that group's runs only (unless asked for all).
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class WorkerGroupTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task TwoGroups_EachEventSaysItsGroup_EachStreamAndWatchShowsItsOwn_ARetriedFailureSaysARetryFollows()
    {
        var (a, b) = (RabbitMqFixture.NewQueueName("group-a"), RabbitMqFixture.NewQueueName("group-b"));
        var port = AppProcess.FreePort();
        try
        {
            await using var watcher = await EventWatcher.StartAsync(rabbit);
            await using var workerA = await AppProcess.StartWorkerAsync(rabbit, a, $"--TaskBus:Http:Urls=http://127.0.0.1:{port}");
            await using var workerB = await AppProcess.StartWorkerAsync(rabbit, b);
            await using var watchA = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, a, "watch", "--json"));
            await watchA.WaitForLineAsync(l => l.Contains("Watching task run events of worker group", StringComparison.Ordinal));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Timeout.InfiniteTimeSpan };
            await using var own = await EventStream.OpenAsync(http, "/tasks-events");
            await using var all = await EventStream.OpenAsync(http, "/tasks-events?all=true");

            // Group B's run ends first: its events are in every stream's queue before group A's run is even queued.
            await using var senderB = await PublisherHost.StartAsync(rabbit, b);
            var runB = (await senderB.Manager.QueueAsync("add", new Add { A = 1, B = 2 })).Id;
            await watcher.WaitFor(e => e.Id == runB && e.State == TaskState.Success);
            await using var senderA = await PublisherHost.StartAsync(rabbit, a);
            var runA = (await senderA.Manager.QueueAsync("retryable", new Retryable { FailTimes = 1 })).Id;
            await watcher.WaitFor(e => e.Id == runA && e.State == TaskState.Success);

            // Every event says its group; the round that failed says a retry follows, and no other event does.
            Assert.All(watcher.EventsOf(runB), e => Assert.Equal(b, e.Queue));
            Assert.All(watcher.EventsOf(runA), e => Assert.Equal(a, e.Queue));
            var failure = Assert.Single(watcher.EventsOf(runA), e => e.State == TaskState.Failure);
            Assert.Equal((0, true), (failure.RetryAttempt, failure.WillRetry));
            Assert.All(watcher.EventsOf(runA).Concat(watcher.EventsOf(runB)).Where(e => e.State != TaskState.Failure), e => Assert.False(e.WillRetry));

            // Group A's stream and watch: A's run to its end, nothing of B's before it.
            var seen = await own.ReadUntilAsync(e => e.Id == runA && e.State == TaskState.Success);
            Assert.DoesNotContain(seen, e => e.Id == runB);
            Assert.Contains(seen, e => e.Id == runA && e.State == TaskState.Failure && e.WillRetry);
            await watchA.WaitForLineAsync(l => l.Contains(runA, StringComparison.Ordinal) && l.Contains("\"success\"", StringComparison.Ordinal));
            Assert.DoesNotContain(runB, watchA.Output, StringComparison.Ordinal);
            // Asked for every group, the stream has both.
            var everything = await all.ReadUntilAsync(e => e.Id == runA && e.State == TaskState.Success);
            Assert.Contains(everything, e => e.Id == runB && e.Queue == b);
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(a);
            await rabbit.DeleteQueuesAsync(b);
        }
    }

    /// <summary>A client of <c>GET /tasks-events</c>, reading its Server-Sent Events as they come.</summary>
    private sealed class EventStream : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;

        private EventStream(HttpResponseMessage response, StreamReader reader) => (_response, _reader) = (response, reader);

        public static async Task<EventStream> OpenAsync(HttpClient http, string path)
        {
            var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            // The stream says it is subscribed once nothing can slip past it.
            while (await reader.ReadLineAsync() is { } line && !line.StartsWith(": subscribed", StringComparison.Ordinal))
            {
            }
            return new EventStream(response, reader);
        }

        /// <summary>The run events up to and including the first that matches; fails after 60 s.</summary>
        public async Task<List<TaskRunEvent>> ReadUntilAsync(Func<TaskRunEvent, bool> match)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var events = new List<TaskRunEvent>();
            var progress = false;
            while (await _reader.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("event: progress", StringComparison.Ordinal))
                    progress = true;
                if (line.Length == 0)
                    progress = false;
                if (progress || !line.StartsWith("data: ", StringComparison.Ordinal))
                    continue;
                var evt = JsonSerializer.Deserialize<TaskRunEvent>(line["data: ".Length..], TaskBusJson.Options)!;
                events.Add(evt);
                if (match(evt))
                    return events;
            }
            throw new InvalidOperationException("the event stream ended");
        }

        public ValueTask DisposeAsync()
        {
            _reader.Dispose();
            _response.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
