using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using TaskBus.IntegrationTests.Support;
using TaskBus.Serialization;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>What a worker costs the broker in connections: at hundreds of workers, connections are what a broker runs out of.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ConnectionTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    [Fact]
    public async Task AWorkerOnRabbitMqWithThePostgresStore_HoldsTwoConnections_MassTransitsAndTaskBusOwn()
    {
        var (vhost, url) = await rabbit.CreateVhostAsync();
        var port = AppProcess.FreePort();
        try
        {
            // Events on, a retry whose wait the broker holds, the queue's status: everything TaskBus does on the broker itself.
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, "taskbus-tasks",
                $"--TaskBus:RabbitMQ:Url={url}", "--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}",
                $"--TaskBus:Http:Urls=http://127.0.0.1:{port}", "--TaskBus:Retries:retryable:Wait=00:00:01");
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

            using var queued = await http.PostAsJsonAsync("/tasks/retryable", new { failTimes = 1 });
            Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
            var run = (await queued.Content.ReadFromJsonAsync<TaskRunEvent>(TaskBusJson.Options))!;
            await worker.WaitForLineAsync(l => l.Contains($"retryable.{run.Id} success", StringComparison.Ordinal));
            using var status = await http.GetAsync("/tasks-status");
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
            Assert.Contains("\"queueLength\":0", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            var connections = (await ConnectionsAsync()).Where(c => c.Vhost == vhost).ToList();
            output.WriteLine(string.Join(Environment.NewLine, connections.Select(c => c.Name)));
            Assert.Equal(2, connections.Count);
            var own = Assert.Single(connections, c => c.Name.StartsWith("taskbus-", StringComparison.Ordinal) && c.Name.EndsWith($"-{worker.Pid}", StringComparison.Ordinal));

            // The broker drops TaskBus's connection: the next use gets it back (recovered, or opened anew) instead of failing.
            await RabbitMqFixture.CtlAsync("close_connection", own.Pid, "test: dropped by the broker");
            using var again = await http.GetAsync("/tasks-status");
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.Contains("\"queueLength\":0", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(2, (await ConnectionsAsync()).Count(c => c.Vhost == vhost));
        }
        finally
        {
            await RabbitMqFixture.DeleteVhostAsync(vhost);
        }
    }

    /// <summary>Every connection the broker holds: its vhost, the name its client gave it, and its process on the broker.</summary>
    private static async Task<List<(string Vhost, string Name, string Pid)>> ConnectionsAsync()
    {
        var info = new ProcessStartInfo("rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "list_connections", "-q", "--no-table-headers", "vhost", "pid", "client_properties" })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var text = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var columns = line.Split('\t');
            var name = System.Text.RegularExpressions.Regex.Match(columns[2], "\\{\"connection_name\",\"([^\"]*)\"\\}").Groups[1].Value;
            return (columns[0], name, columns[1]);
        })];
    }
}
