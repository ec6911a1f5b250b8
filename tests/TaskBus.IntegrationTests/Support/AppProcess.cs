using System.Diagnostics;
using System.Text;

namespace TaskBus.IntegrationTests.Support;

/// <summary>A Worker or Publisher started as its own process, with its output captured line by line.</summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _lock = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

    private AppProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, "");
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, "[stderr] ");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The process id: the <c>pid</c> in a <c>host-pid</c> worker name.</summary>
    private int _disposed;

    public int Pid => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_lock)
                return _output.ToString();
        }
    }

    public IReadOnlyList<string> StdoutLines => [.. Output.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("[stderr] ", StringComparison.Ordinal))];

    public static AppProcess Start(string app, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(AppPath(app));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return new AppProcess(Process.Start(info) ?? throw new InvalidOperationException($"could not start {app}"));
    }

    /// <summary>Starts a worker on RabbitMQ with its own queue and waits until it consumes.</summary>
    public static async Task<AppProcess> StartWorkerAsync(RabbitMqFixture rabbit, string queue, params string[] extra)
    {
        var worker = Start("TaskBus.Worker", [
            "serve", "--TaskBus:Transport=RabbitMQ", $"--TaskBus:RabbitMQ:Url={rabbit.Url}", $"--TaskBus:QueueName={queue}",
            "--TaskBus:ScheduleTasks=false", .. extra]);
        await worker.WaitForLineAsync(l => l.Contains("Worker ", StringComparison.Ordinal) && l.Contains(" started as ", StringComparison.Ordinal));
        return worker;
    }

    /// <summary>A loopback port nothing listens on right now, for a worker's HTTP server.</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A Publisher command line for the worker group of <paramref name="queue"/> on the test broker.</summary>
    public static string[] PublisherArgsFor(RabbitMqFixture rabbit, string queue, params string[] args) =>
        [.. args, "--TaskBus:Transport=RabbitMQ", $"--TaskBus:RabbitMQ:Url={rabbit.Url}", $"--TaskBus:QueueName={queue}"];

    /// <summary>Waits for an output line (also one already printed); fails after 60 s with the output so far.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        Task<string> waiting;
        lock (_lock)
        {
            var seen = _output.ToString().Split('\n').FirstOrDefault(match);
            if (seen is not null)
                return seen;
            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            waiting = done.Task;
        }
        try
        {
            return await waiting.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No matching line within 60 s; the process printed:\n{Output}");
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code; fails after 120 s.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills the process with SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    /// <summary>Sends SIGTERM, as a service manager would, and waits for the exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }
        return await WaitForExitAsync();
    }

    /// <summary>Kills the process if it still runs; safe to call again (a test that disposes early, then by its using).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void OnLine(string? line, string prefix)
    {
        if (line is null)
            return;
        lock (_lock)
        {
            _output.Append(prefix).Append(line).Append('\n');
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                waiter.Done.TrySetResult(line);
                _waiters.Remove(waiter);
            }
        }
    }

    private static string AppPath(string app)
    {
        var here = AppContext.BaseDirectory;
        var root = here;
        while (!File.Exists(Path.Combine(root, "Bus.sln")))
            root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("Bus.sln not found above " + here);
        var configuration = here.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var folder = app == "TaskBus.Worker" ? "Worker" : "Publisher";
        var path = Path.Combine(root, "src", folder, "bin", configuration, "net10.0", app + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{app} is not built at {path}", path);
    }
}
