using System.Net.Sockets;
using System.Text.Json;
using RabbitMQ.Client;
using TaskBus.Configuration;
using TaskBus.Runs;

namespace TaskBus.RabbitMq;

/// <summary>
/// Why RabbitMQ does not take messages, as far as it can be told: TaskBus's connection blocked by the broker (its
/// reason), a memory or disk alarm on a node (the management API), or no broker answering on the AMQP port.
/// </summary>
internal sealed class RabbitMqBrokerState : IBrokerState, IDisposable
{
    private readonly RabbitMqConnection _connection;
    private readonly HttpClient _http;
    private readonly string _host;
    private readonly int _port;

    public RabbitMqBrokerState(RabbitMqConnection connection, RabbitMqOptions options)
    {
        var factory = new ConnectionFactory { Uri = new Uri(options.Url) };
        _connection = connection;
        _host = factory.HostName;
        _port = factory.Port > 0 ? factory.Port : factory.Ssl.Enabled ? 5671 : 5672;
        _http = RabbitMqManagement.CreateClient(options);
    }

    public async Task<string?> WhyNotTakingAsync(CancellationToken cancellationToken)
    {
        if (_connection.BlockedReason is { } blocked)
            return $"the broker blocks publishers ({blocked}): a resource alarm";
        if (await AlarmsAsync(cancellationToken) is { } alarms)
            return alarms;
        return await AnswersAsync() switch
        {
            false => $"the broker at {_host}:{_port} cannot be reached",
            null => $"the broker at {_host}:{_port} does not answer within 2 s",
            true => null,
        };
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The nodes' memory and disk alarms; null when there is none or the management API cannot tell.</summary>
    private async Task<string?> AlarmsAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync("api/nodes?columns=name,mem_alarm,disk_free_alarm", cancellationToken);
            if (!response.IsSuccessStatusCode)
                return null;
            using var nodes = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var alarms = new List<string>();
            foreach (var node in nodes.RootElement.EnumerateArray())
            {
                var name = node.TryGetProperty("name", out var n) ? n.GetString() : "?";
                if (node.TryGetProperty("mem_alarm", out var memory) && memory.ValueKind == JsonValueKind.True)
                    alarms.Add($"memory alarm on {name}");
                if (node.TryGetProperty("disk_free_alarm", out var disk) && disk.ValueKind == JsonValueKind.True)
                    alarms.Add($"disk alarm on {name}");
            }
            return alarms.Count == 0 ? null : $"the broker blocks publishers: {string.Join(", ", alarms)}";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Whether a TCP connection to the AMQP port opens, within 2 s of its own; null when it neither opens nor is refused in that time.</summary>
    private async Task<bool?> AnswersAsync()
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(_host, _port, bounded.Token);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
