using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using TaskBus.Contracts;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>
/// The broker blocking publishers (a memory alarm) and then gone, on a RabbitMQ node of these tests' own
/// (scripts/start-rabbitmq-node.sh, port 5681) so the other tests' broker is not disturbed. A queuer process serves
/// HTTP with a 2 s publish timeout; a worker process only consumes.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed partial class BrokerAlarmTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    private const string Node = "taskbus-alarm@localhost";
    private static readonly string Url = Environment.GetEnvironmentVariable("TaskBus__AlarmRabbitMQ__Url") ?? "amqp://guest:guest@localhost:5681/";
    private static readonly string Management = Environment.GetEnvironmentVariable("TaskBus__AlarmRabbitMQ__ManagementUrl") ?? "http://localhost:15681/";

    [Fact]
    public async Task AMemoryAlarm_ThenTheBrokerStopped_QueueingAnswers503WithTheReasonInTime_TakenRunsFinish_AndQueueingWorksOnceCleared()
    {
        var queue = RabbitMqFixture.NewQueueName("alarm");
        var port = AppProcess.FreePort();
        string[] broker = ["--TaskBus:Transport=RabbitMQ", $"--TaskBus:RabbitMQ:Url={Url}", $"--TaskBus:RabbitMQ:ManagementUrl={Management}", $"--TaskBus:QueueName={queue}"];
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        using var management = new HttpClient { BaseAddress = new Uri(Management) };
        management.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("guest:guest"u8.ToArray()));
        try
        {
            try
            {
                await RabbitMqFixture.CtlAsync("-n", Node, "start_app");
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException($"The RabbitMQ node {Node} of these tests is not running: start it with scripts/start-rabbitmq-node.sh (the test command in README does).", ex);
            }
            await using var worker = await StartAsync([.. broker, "--TaskBus:ScheduleTasks=false", "--TaskBus:MaxConcurrentTasks=4"]);
            await using var queuer = await StartAsync([.. broker, "--TaskBus:ScheduleTasks=false", "--TaskBus:ConsumeTasks=false",
                $"--TaskBus:Http:Urls=http://127.0.0.1:{port}", "--TaskBus:RabbitMQ:PublishTimeout=00:00:02"]);
            await using var watcher = await EventWatcher.StartAsync(rabbit, url: Url);

            // Three runs taken by the worker before the alarm.
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} started");
            var taken = new List<string>();
            for (var i = 0; i < 3; i++)
                taken.Add(await QueueAsync(http, "sleep", new { ms = 3000 }));
            foreach (var id in taken)
                await watcher.WaitFor(e => e.Id == id && e.State == TaskState.Running);

            await RabbitMqFixture.CtlAsync("-n", Node, "set_vm_memory_high_watermark", "0.000001");
            try
            {
                var ready = await WaitForReadinessAsync(http, HttpStatusCode.ServiceUnavailable);
                Assert.Contains("alarm", ready, StringComparison.Ordinal);
                output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} alarm: not ready");

                var clock = System.Diagnostics.Stopwatch.StartNew();
                using var refused = await http.PostAsJsonAsync("/tasks/noop", new { });
                var answeredIn = clock.Elapsed;
                var reason = (await refused.Content.ReadFromJsonAsync<ErrorView>())!.Error;
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Contains("alarm", reason, StringComparison.Ordinal);
                Assert.Contains("not confirmed", reason, StringComparison.Ordinal);
                Assert.True(answeredIn < http.Timeout, $"answered after {answeredIn}");
                var notConfirmed = RunIdIn().Match(reason).Groups[1].Value;

                await using (var cli = AppProcess.Start("TaskBus.Publisher", ["queue", "noop", .. broker, "--TaskBus:RabbitMQ:PublishTimeout=00:00:02"]))
                {
                    Assert.Equal(2, await cli.WaitForExitAsync());
                    var line = Assert.Single(cli.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                    Assert.Contains("alarm", line, StringComparison.Ordinal);
                }

                // The runs the worker had taken finish, and their messages are acknowledged: its connection only consumes.
                output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} alarm: CLI done");
                foreach (var id in taken)
                    await worker.WaitForLineAsync(l => l.Contains($"sleep.{id} success", StringComparison.Ordinal));
                output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} alarm: taken runs succeeded");
                await WaitForUnacknowledgedAsync(management, queue, 0);
                output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} alarm: acknowledged");
                output.WriteLine($"during the alarm: POST answered 503 in {answeredIn.TotalSeconds:0.0} s: {reason}");

                await RabbitMqFixture.CtlAsync("-n", Node, "set_vm_memory_high_watermark", "0.4");
                await WaitForReadinessAsync(http, HttpStatusCode.OK);
                output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} alarm cleared: ready");
                var after = await QueueAsync(http, "noop", new { });
                Assert.Equal(TaskState.Success, (await watcher.WaitForFinal(after)).State);
                // Never more than is known: the run that was not confirmed never ends failure.
                Assert.DoesNotContain(watcher.EventsOf(notConfirmed), e => e.State == TaskState.Failure);
                output.WriteLine($"not confirmed run {notConfirmed}: {string.Join(", ", watcher.EventsOf(notConfirmed).Select(e => e.State.ToWire()))}");
            }
            finally
            {
                await RabbitMqFixture.CtlAsync("-n", Node, "set_vm_memory_high_watermark", "0.4");
            }

            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} stopping the broker");
            await RabbitMqFixture.CtlAsync("-n", Node, "stop_app");
            try
            {
                var ready = await WaitForReadinessAsync(http, HttpStatusCode.ServiceUnavailable);
                output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} not ready: {ready}");
                using var refused = await http.PostAsJsonAsync("/tasks/noop", new { });
                var reason = (await refused.Content.ReadFromJsonAsync<ErrorView>())!.Error;
                output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} POST: {reason}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Contains("cannot be reached", reason, StringComparison.Ordinal);
                await using (var cli = AppProcess.Start("TaskBus.Publisher", ["queue", "noop", .. broker, "--TaskBus:RabbitMQ:PublishTimeout=00:00:02"]))
                {
                    Assert.Equal(2, await cli.WaitForExitAsync());
                    output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} CLI: {cli.Output}");
                    Assert.Single(cli.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                }
                output.WriteLine($"broker stopped: ready said '{ready}'; POST: {reason}");
            }
            finally
            {
                await RabbitMqFixture.CtlAsync("-n", Node, "start_app");
            }
            await WaitForReadinessAsync(http, HttpStatusCode.OK);
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} ready again");
            // MassTransit reconnects on its own schedule: the first sends after the broker is back may still time out.
            string? back = null;
            for (var attempt = 1; back is null; attempt++)
            {
                using var response = await http.PostAsJsonAsync("/tasks/noop", new { });
                if (response.IsSuccessStatusCode)
                    back = (await response.Content.ReadFromJsonAsync<TaskRunEvent>())!.Id;
                else
                    Assert.True(attempt < 30, $"queueing did not work again: {await response.Content.ReadAsStringAsync()}");
            }
            // The worker's own line: the watcher's temporary queue went with the stopped node, and comes back on MassTransit's schedule.
            await worker.WaitForLineAsync(l => l.Contains($"noop.{back} success", StringComparison.Ordinal));
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} a run succeeded again");
        }
        finally
        {
            await DeleteQueuesAsync(queue);
        }
    }

    private static async Task<AppProcess> StartAsync(string[] args)
    {
        var process = AppProcess.Start("TaskBus.Worker", ["serve", .. args]);
        await process.WaitForLineAsync(l => l.Contains(" started as ", StringComparison.Ordinal));
        return process;
    }

    private static async Task<string> QueueAsync(HttpClient http, string task, object parameters)
    {
        using var response = await http.PostAsJsonAsync($"/tasks/{task}", parameters);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<TaskRunEvent>())!.Id;
    }

    /// <summary>Reads /health/ready until it answers <paramref name="status"/>; the broker's state has no signal to wait on.</summary>
    private static async Task<string> WaitForReadinessAsync(HttpClient http, HttpStatusCode status)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await http.GetAsync("/health/ready");
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == status)
                return body;
            Assert.True(attempt < 60, $"/health/ready stayed {(int)response.StatusCode}: {body}");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>Reads the queue's unacknowledged count (sampled by the broker every few seconds) until it is <paramref name="count"/>.</summary>
    private static async Task WaitForUnacknowledgedAsync(HttpClient management, string queue, long count)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await management.GetAsync($"api/queues/%2F/{queue}?columns=messages_unacknowledged");
            var body = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode && body.Contains($"\"messages_unacknowledged\":{count}", StringComparison.Ordinal))
                return;
            Assert.True(attempt < 60, $"{queue}: {body}");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    private static async Task DeleteQueuesAsync(string queue)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(Url) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var name in new[] { queue, queue + "_error", queue + "_skipped" })
        {
            await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
            await channel.ExchangeDeleteAsync(name, ifUnused: false);
        }
    }

    [GeneratedRegex("noop\\.([0-9a-f]{32})")]
    private static partial Regex RunIdIn();

    private sealed record ErrorView(string Error);
}
