using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using RabbitMQ.Client;

namespace TaskBus.Bench;

/// <summary>
/// What a bench run that was killed left behind, removed at the start of the next: the bench's queues and exchanges
/// (every name starting <c>taskbus-bench</c>, listed by the management API where it answers, else the fixed names),
/// the exchanges of its own message types, and its databases (<c>taskbus_bench_*</c>).
/// </summary>
internal static class Leftovers
{
    // Each with the error queue a TaskBus worker of that name declares (the bare and raw cases have none: no harm).
    private static readonly string[] s_fixed =
    [
        .. new[]
        {
            "taskbus-bench-tasks", "taskbus-bench-bare", "taskbus-bench-raw", "taskbus-bench-http", "taskbus-bench-wait", "taskbus-bench-rr",
            "taskbus-bench-rss", "taskbus-bench-cancel", "taskbus-bench-delayed", "taskbus-bench-schedule", "taskbus-bench-scale-1",
            "taskbus-bench-scale-2", "taskbus-bench-scale-4",
        }.SelectMany(q => new[] { q, $"{q}_error" }),
    ];

    /// <summary>The exchanges of the bench's own message types (the bare consumer's, the bare responder's).</summary>
    private static readonly string[] s_typeExchanges = ["TaskBus.Bench:BareMessage", "TaskBus.Bench:BareRequest", "TaskBus.Bench:BareResponse"];

    public static async Task RemoveAsync(string url, string? postgresServer)
    {
        var names = await ListQueuesAsync(url) ?? s_fixed;
        var factory = new ConnectionFactory { Uri = new Uri(url) };
        await using var connection = await factory.CreateConnectionAsync();
        // Deleting what does not exist succeeds: no need to look first.
        await using (var channel = await connection.CreateChannelAsync())
        {
            foreach (var name in names)
            {
                await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
                await channel.ExchangeDeleteAsync(name, ifUnused: false);
            }
            await DeleteTypeExchangesAsync(channel);
        }
        var databases = 0;
        if (postgresServer is not null)
        {
            await using var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(postgresServer) { Database = "postgres" }.ConnectionString);
            await db.OpenAsync();
            var stale = new List<string>();
            await using (var list = new NpgsqlCommand("SELECT datname FROM pg_database WHERE datname LIKE 'taskbus\\_bench\\_%'", db))
            await using (var reader = await list.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                    stale.Add(reader.GetString(0));
            }
            foreach (var name in stale)
            {
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", db);
                await drop.ExecuteNonQueryAsync();
                databases++;
            }
        }
        if (databases > 0)
            Console.WriteLine($"bench: removed {databases} database(s) a killed run left behind");
    }

    /// <summary>Removes the exchanges of the bench's own message types, at the end of a run.</summary>
    public static async Task RemoveExchangesAsync(string url)
    {
        var factory = new ConnectionFactory { Uri = new Uri(url) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await DeleteTypeExchangesAsync(channel);
    }

    private static async Task DeleteTypeExchangesAsync(IChannel channel)
    {
        foreach (var name in s_typeExchanges)
            await channel.ExchangeDeleteAsync(name, ifUnused: false);
    }

    /// <summary>The bench's queues on the vhost, from the management API; null where it does not answer.</summary>
    private static async Task<IReadOnlyList<string>?> ListQueuesAsync(string url)
    {
        var factory = new ConnectionFactory { Uri = new Uri(url) };
        using var http = new HttpClient { BaseAddress = new Uri($"http://{factory.HostName}:15672/"), Timeout = TimeSpan.FromSeconds(3) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{factory.UserName}:{factory.Password}")));
        try
        {
            using var json = JsonDocument.Parse(await http.GetStringAsync($"api/queues/{Uri.EscapeDataString(factory.VirtualHost)}?columns=name"));
            return [.. json.RootElement.EnumerateArray().Select(q => q.GetProperty("name").GetString()!).Where(n => n.StartsWith("taskbus-bench", StringComparison.Ordinal))];
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }
}
