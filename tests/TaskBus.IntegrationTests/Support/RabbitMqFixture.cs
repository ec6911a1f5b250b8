using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace TaskBus.IntegrationTests.Support;

/// <summary>
/// The real RabbitMQ the tests run against. It is never optional: if the broker cannot be
/// reached the fixture throws, and every test of the collection fails with that message.
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private IConnection? _connection;

    public string Url { get; } = Environment.GetEnvironmentVariable("TaskBus__RabbitMQ__Url") ?? "amqp://guest:guest@localhost:5672/";

    public async Task InitializeAsync()
    {
        try
        {
            _connection = await ConnectAsync();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"RabbitMQ is not reachable at {Url}: {ex.Message}. Start it with scripts/start-rabbitmq.sh (the test command in README does).", ex);
        }
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null)
            await _connection.CloseAsync();
        _connection?.Dispose();
    }

    private Task<IConnection> ConnectAsync() => new ConnectionFactory { Uri = new Uri(Url) }.CreateConnectionAsync();

    // A test may restart the broker: the fixture's own connection is then replaced.
    private async Task<IChannel> ChannelAsync()
    {
        if (_connection is not { IsOpen: true })
        {
            _connection?.Dispose();
            _connection = await ConnectAsync();
        }
        return await _connection.CreateChannelAsync();
    }

    /// <summary>Runs rabbitmqctl; fails the test with its output when it fails.</summary>
    public static async Task CtlAsync(params string[] args) => await CtlOutputAsync(args);

    /// <summary>Runs rabbitmqctl; fails the test if it fails; returns what it printed.</summary>
    public static async Task<string> CtlOutputAsync(params string[] args)
    {
        var (code, output) = await RunAsync("rabbitmqctl", args);
        Assert.True(code == 0, $"rabbitmqctl {string.Join(' ', args)}: {output}");
        return output;
    }

    /// <summary>Runs a program; returns its exit code and what it printed (with its stderr when it failed).</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, process.ExitCode == 0 ? output : output + await error);
    }

    /// <summary>A new, empty virtual host that guest may use, as a first deployment finds it; returns its URL.</summary>
    public async Task<(string Name, string Url)> CreateVhostAsync()
    {
        var name = $"tb-it-{Guid.NewGuid().ToString("N")[..8]}";
        await CtlAsync("add_vhost", name);
        await CtlAsync("set_permissions", "-p", name, "guest", ".*", ".*", ".*");
        var url = new UriBuilder(new Uri(Url)) { Path = "/" + name }.Uri.ToString();
        return (name, url);
    }

    /// <summary>Deletes a virtual host and everything in it.</summary>
    public static Task DeleteVhostAsync(string name) => CtlAsync("delete_vhost", name);

    /// <summary>A queue name no other test uses.</summary>
    public static string NewQueueName(string test) => $"tb-it-{test}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Deletes a task queue and its error and skipped queues, so nothing stays bound to the task exchanges.</summary>
    public async Task DeleteQueuesAsync(string queue)
    {
        await using var channel = await ChannelAsync();
        foreach (var name in new[] { queue, queue + "_error", queue + "_skipped" })
        {
            await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
            await channel.ExchangeDeleteAsync(name, ifUnused: false);
        }
    }

    /// <summary>Puts a raw message straight on a queue through the default exchange.</summary>
    public async Task SendRawAsync(string queue, string body, string contentType, Guid? messageId = null)
    {
        await using var channel = await ChannelAsync();
        var properties = new BasicProperties { ContentType = contentType, Persistent = true, MessageId = messageId?.ToString() };
        await channel.BasicPublishAsync("", queue, mandatory: true, properties, Encoding.UTF8.GetBytes(body));
    }

    /// <summary>Consumes <paramref name="count"/> messages from a queue as they arrive, with their headers; fails after 60 s.</summary>
    public async Task<IReadOnlyList<(string Body, IDictionary<string, object?> Headers, string? MessageId)>> TakeAsync(string queue, int count)
    {
        await using var channel = await ChannelAsync();
        await channel.QueueDeclarePassiveAsync(queue);
        var result = new List<(string, IDictionary<string, object?>, string?)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, message) =>
        {
            var headers = (message.BasicProperties.Headers ?? new Dictionary<string, object?>())
                .ToDictionary(h => h.Key, h => h.Value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : h.Value);
            lock (result)
            {
                result.Add((Encoding.UTF8.GetString(message.Body.Span), headers, message.BasicProperties.MessageId));
                if (result.Count >= count)
                    done.TrySetResult();
            }
            return Task.CompletedTask;
        };
        var tag = await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        try
        {
            await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{queue} received {result.Count} of {count} messages within 60 s");
        }
        await channel.BasicCancelAsync(tag);
        lock (result)
            return [.. result];
    }

    /// <summary>Messages waiting in a queue; 0 when the queue was never declared (MassTransit declares an error queue at its first message).</summary>
    public async Task<uint> MessageCountOrZeroAsync(string queue)
    {
        try
        {
            return await MessageCountAsync(queue);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return 0;
        }
    }

    public async Task<uint> MessageCountAsync(string queue, string? url = null)
    {
        if (url is null)
        {
            await using var channel = await ChannelAsync();
            return await channel.MessageCountAsync(queue);
        }
        await using var connection = await new ConnectionFactory { Uri = new Uri(url) }.CreateConnectionAsync();
        await using var other = await connection.CreateChannelAsync();
        return await other.MessageCountAsync(queue);
    }

    /// <summary>
    /// Binds a record's exchange to a worker group's exchange, as workers of TaskBus's previous version did for
    /// every task record (MassTransit's consume topology); such bindings stay on a broker after an upgrade.
    /// </summary>
    public async Task BindAsThePreviousVersionDidAsync(string recordExchange, string queue)
    {
        await using var channel = await ChannelAsync();
        await channel.ExchangeDeclareAsync(recordExchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        await channel.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true, autoDelete: false);
        await channel.ExchangeBindAsync(queue, recordExchange, "");
    }

    /// <summary>Deletes an exchange.</summary>
    public async Task DeleteExchangeAsync(string exchange)
    {
        await using var channel = await ChannelAsync();
        await channel.ExchangeDeleteAsync(exchange, ifUnused: false);
    }

    /// <summary>Deletes one queue only, as an operator would.</summary>
    public async Task DeleteQueueAsync(string queue)
    {
        await using var channel = await ChannelAsync();
        await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
    }
}
