using System.Net;
using System.Text.Json;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

[Collection(RabbitMqCollection.Name)]
public sealed class HealthTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    [Fact]
    public async Task Ready_ChecksBusStoreAndScheduler_TurnsUnhealthyWhileRabbitMqIsStopped_AndHealthyAfterItRestarts()
    {
        var queue = RabbitMqFixture.NewQueueName("health");
        var port = AppProcess.FreePort();
        try
        {
            await using var worker = await AppProcess.StartWorkerAsync(rabbit, queue,
                "--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}",
                "--TaskBus:ScheduleTasks=true", $"--TaskBus:Http:Urls=http://127.0.0.1:{port}", "--TaskBus:Http:ApiKey=not-needed-by-probes");
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

            var (status, body) = await GetAsync(http, "/health/ready");
            Assert.Equal(HttpStatusCode.OK, status);
            var entries = body.GetProperty("entries");
            foreach (var check in new[] { "masstransit-bus", "taskbus-store", "taskbus-scheduler" })
                Assert.Equal("Healthy", entries.GetProperty(check).GetProperty("status").GetString());

            await RabbitMqFixture.CtlAsync("stop_app");
            try
            {
                var down = await UntilAsync(http, HttpStatusCode.ServiceUnavailable);
                Assert.NotEqual("Healthy", down.GetProperty("entries").GetProperty("masstransit-bus").GetProperty("status").GetString());
                Assert.Equal("Healthy", down.GetProperty("entries").GetProperty("taskbus-store").GetProperty("status").GetString());
                // The process itself is fine: live stays 200 while a dependency is away.
                Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/health/live")).Status);
            }
            finally
            {
                await RabbitMqFixture.CtlAsync("start_app");
                await RabbitMqFixture.CtlAsync("await_startup");
            }
            var up = await UntilAsync(http, HttpStatusCode.OK);
            Assert.Equal("Healthy", up.GetProperty("status").GetString());
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    private async Task<JsonElement> UntilAsync(HttpClient http, HttpStatusCode wanted)
    {
        // Health is a state to observe, not an event to wait for: ask once a second, for at most two minutes.
        var started = DateTimeOffset.UtcNow;
        while (true)
        {
            var (status, body) = await GetAsync(http, "/health/ready");
            if (status == wanted)
            {
                output.WriteLine($"/health/ready {(int)wanted} after {(DateTimeOffset.UtcNow - started).TotalSeconds:0.0} s");
                return body;
            }
            Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromMinutes(2), $"/health/ready stayed {(int)status}: {body}");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return (response.StatusCode, JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync()));
    }
}
