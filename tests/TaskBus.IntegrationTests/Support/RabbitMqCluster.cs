using System.Diagnostics;
using System.Text.Json;

namespace TaskBus.IntegrationTests.Support;

/// <summary>
/// The three-node RabbitMQ cluster of <c>scripts/start-rabbitmq-cluster.sh</c> (nodes taskbus-c1..c3 on AMQP 5701-5703,
/// management 15701-15703). Never optional: a test that needs it fails, saying how to start it.
/// </summary>
public static class RabbitMqCluster
{
    public const string Nodes = "localhost:5701,localhost:5702,localhost:5703";

    /// <summary>The node names, c1 first.</summary>
    public static readonly string[] Names = ["taskbus-c1@localhost", "taskbus-c2@localhost", "taskbus-c3@localhost"];

    /// <summary>The AMQP URL of node <paramref name="index"/> (1 to 3) for a vhost.</summary>
    public static string Url(int index, string vhost) => $"amqp://guest:guest@localhost:570{index}/{Uri.EscapeDataString(vhost)}";

    public static string ManagementUrl(int index) => $"http://localhost:1570{index}/";

    /// <summary>The node's index (1 to 3) from its name.</summary>
    public static int IndexOf(string node) => Array.IndexOf(Names, node) + 1;

    /// <summary>Fails unless the three nodes run together.</summary>
    public static async Task EnsureRunningAsync()
    {
        var (code, output) = await RunAsync("rabbitmqctl", "-q", "-n", Names[0], "eval", "length(rabbit_nodes:all_running()).");
        Assert.True(code == 0 && output.Trim() == "3",
            $"The three-node RabbitMQ cluster is not running ({output.Trim()}): start it with scripts/start-rabbitmq-cluster.sh (the test command in README does).");
    }

    /// <summary>A new vhost on the cluster that guest may use.</summary>
    public static async Task<string> CreateVhostAsync()
    {
        var name = $"tb-it-{Guid.NewGuid().ToString("N")[..8]}";
        await CtlAsync("add_vhost", name);
        await CtlAsync("set_permissions", "-p", name, "guest", ".*", ".*", ".*");
        return name;
    }

    public static async Task DeleteVhostAsync(string name) => await RunAsync("rabbitmqctl", "-q", "-n", Names[0], "delete_vhost", name);

    /// <summary>The node that leads a quorum queue, or holds a classic one.</summary>
    public static async Task<string> LeaderAsync(string vhost, string queue)
    {
        var output = await CtlAsync("list_queues", "-p", vhost, "name", "leader", "--formatter", "json");
        using var json = JsonDocument.Parse(output);
        var row = json.RootElement.EnumerateArray().Single(q => q.GetProperty("name").GetString() == queue);
        if (row.TryGetProperty("leader", out var leader) && leader.ValueKind == JsonValueKind.String && leader.GetString() is { Length: > 0 } name)
            return name;
        // A classic queue: the management API names its node.
        using var http = new HttpClient { BaseAddress = new Uri(ManagementUrl(1)) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("guest:guest"u8.ToArray()));
        using var queueJson = JsonDocument.Parse(await http.GetStringAsync($"api/queues/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(queue)}"));
        return queueJson.RootElement.GetProperty("node").GetString()!;
    }

    /// <summary>How many AMQP connections a vhost has, cluster-wide.</summary>
    public static async Task<int> ConnectionCountAsync(string vhost) =>
        JsonDocument.Parse(await CtlAsync("list_connections", "-p", vhost, "name", "--formatter", "json")).RootElement.GetArrayLength();

    /// <summary>Kills a node's Erlang VM with SIGKILL: a machine that dies.</summary>
    public static async Task KillAsync(string node)
    {
        var name = node.Split('@')[0];
        var pid = int.Parse((await File.ReadAllTextAsync($"/var/lib/rabbitmq/nodes/{name}/pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        process.Kill();
        await process.WaitForExitAsync();
    }

    /// <summary>Starts a node again (it rejoins the cluster) and waits until the three run together.</summary>
    public static async Task RestartAsync(string node)
    {
        var index = IndexOf(node);
        var (code, output) = await RunAsync("bash", Path.Combine(RepositoryRoot(), "scripts", "start-rabbitmq-node.sh"), $"taskbus-c{index}", $"570{index}", $"1570{index}");
        Assert.True(code == 0, output);
        for (var i = 0; i < 60; i++)
        {
            var (_, running) = await RunAsync("rabbitmqctl", "-q", "-n", Names[0], "eval", "length(rabbit_nodes:all_running()).");
            if (running.Trim() == "3")
                return;
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        await EnsureRunningAsync();
    }

    private static async Task<string> CtlAsync(params string[] args)
    {
        var (code, output) = await RunAsync("rabbitmqctl", ["-q", "-n", Names[0], .. args]);
        Assert.True(code == 0, $"rabbitmqctl {string.Join(' ', args)}: {output}");
        return output;
    }

    private static Task<(int Code, string Output)> RunAsync(string file, params string[] args) => RabbitMqFixture.RunAsync(file, args);

    private static string RepositoryRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Bus.sln")))
            root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("Bus.sln not found");
        return root;
    }
}
