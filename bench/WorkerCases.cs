using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Contracts.Tasks;

namespace TaskBus.Bench;

/// <summary>Cases that run the reference worker as separate processes: scale-out and a worker's memory.</summary>
internal static class WorkerCases
{
    /// <summary>
    /// <paramref name="runs"/> runs of <c>sleep</c> (200 ms) on N workers of 5 slots each: the time from the first
    /// run queued to the last one finished, against the ideal <c>runs × 0.2 s / (5 N)</c>.
    /// </summary>
    public static async Task<double> ScaleOutAsync(string url, int workers, int runs)
    {
        var queue = $"taskbus-bench-scale-{workers}";
        var started = new List<WorkerProcess>();
        try
        {
            for (var i = 0; i < workers; i++)
                started.Add(WorkerProcess.Start(url, queue, "--TaskBus:MaxConcurrentTasks=5"));
            foreach (var worker in started)
                await worker.StartedAsync();
            await using var publisher = new Disposing(await PublisherAsync(url, queue));
            var manager = publisher.Host.Services.GetRequiredService<TaskManager>();
            // Warm-up, not counted: two rounds of every slot, so each worker has compiled its run path.
            await Task.WhenAll(Enumerable.Range(0, 10 * workers).Select(_ =>
                manager.QueueAndWaitAsync("sleep", new Sleep { Ms = 200 }, TimeSpan.FromMinutes(1))));
            var clock = Stopwatch.StartNew();
            var all = Task.WhenAll(Enumerable.Range(0, runs).Select(_ =>
                manager.QueueAndWaitAsync("sleep", new Sleep { Ms = 200 }, TimeSpan.FromMinutes(5))));
            await Task.WhenAny(started.Select(w => w.Died).Append(all));
            await Task.WhenAny(started.Select(w => w.Died).Where(d => d.IsFaulted).Append(all)).Unwrap();
            var done = await all;
            clock.Stop();
            if (done.Any(r => r.State != Contracts.TaskState.Success))
                throw new InvalidOperationException("a sleep run did not succeed");
            var ideal = runs * 0.2 / (5 * workers);
            return ideal / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var worker in started)
                await worker.DisposeAsync();
            await Rabbit.DeleteQueueAsync(url, queue);
        }
    }

    /// <summary>The runtime's gen0 budget, as README's deployment sets it for a worker: 4 MiB (hexadecimal, as the runtime reads it).</summary>
    public const string Gen0Variable = "DOTNET_GCgen0size";

    public const string Gen0Deployed = "0x400000";

    /// <summary>
    /// A worker on RabbitMQ, with the PostgreSQL store and HTTP, as deployed: its resident memory once started and
    /// idle, and after <paramref name="runs"/> noop runs (events on).
    /// </summary>
    public static async Task<(double IdleMiB, double AfterMiB)> RssAsync(string url, string postgres, int runs, IReadOnlyDictionary<string, string> environment)
    {
        const string Queue = "taskbus-bench-rss";
        await using var database = await BenchDatabase.CreateAsync(postgres);
        var worker = WorkerProcess.Start(url, Queue, environment,
            "--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={database.ConnectionString}",
            $"--TaskBus:Http:Urls=http://127.0.0.1:{FreePort()}");
        try
        {
            await worker.StartedAsync();
            await Task.Delay(TimeSpan.FromSeconds(5));
            var idle = worker.RssMiB();
            await using var publisher = new Disposing(await PublisherAsync(url, Queue));
            var manager = publisher.Host.Services.GetRequiredService<TaskManager>();
            var pending = new List<Task>(256);
            for (var i = 0; i < runs - 1; i++)
            {
                pending.Add(manager.QueueAsync("noop"));
                if (pending.Count == 256)
                {
                    await Task.WhenAll(pending);
                    pending.Clear();
                }
            }
            await Task.WhenAll(pending);
            // Runs of one priority are taken in order: the last one done means the others are too.
            await manager.QueueAndWaitAsync("noop", timeout: TimeSpan.FromMinutes(10));
            await Task.Delay(TimeSpan.FromSeconds(2));
            return (idle, worker.RssMiB());
        }
        finally
        {
            await worker.DisposeAsync();
            await Rabbit.DeleteQueueAsync(url, Queue);
        }
    }

    private static async Task<IHost> PublisherAsync(string url, string queue)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddTaskBus(o =>
        {
            o.Transport = TaskBusTransport.RabbitMQ;
            o.RabbitMQ.Url = url;
            o.QueueName = queue;
            o.ConsumeTasks = false;
            o.ScheduleTasks = false;
            o.PublishEvents = false;
        }).AddTaskMessagesFromNamespace(typeof(Sleep).Assembly, typeof(Sleep).Namespace!);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>Stops and disposes a host asynchronously (its services hold connections that close asynchronously).</summary>
    private sealed record Disposing(IHost Host) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Host.StopAsync();
            await ((IAsyncDisposable)Host).DisposeAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The reference worker (<c>TaskBus.Worker.dll</c> beside the bench) as a process of its own.</summary>
    private sealed class WorkerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _last = new();
        private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _disposed;

        /// <summary>Faults when the worker exits before it is disposed.</summary>
        public Task Died => _exited.Task;

        private WorkerProcess(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => Keep(e.Data);
            _process.ErrorDataReceived += (_, e) => Keep(e.Data);
            _process.EnableRaisingEvents = true;
            _process.Exited += (_, _) =>
            {
                var died = new InvalidOperationException($"the worker exited ({_process.ExitCode}): {string.Join(" | ", _last)}");
                _started.TrySetException(died);
                _exited.TrySetException(died);
            };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public static WorkerProcess Start(string url, string queue, params string[] extra) => Start(url, queue, new Dictionary<string, string>(), extra);

        public static WorkerProcess Start(string url, string queue, IReadOnlyDictionary<string, string> environment, params string[] extra)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            // The bench's own environment is not the deployed worker's: only what the case gives.
            info.Environment.Remove(Gen0Variable);
            foreach (var (name, value) in environment)
                info.Environment[name] = value;
            foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "TaskBus.Worker.dll"), "serve", "--TaskBus:Transport=RabbitMQ",
                $"--TaskBus:RabbitMQ:Url={url}", $"--TaskBus:QueueName={queue}", "--TaskBus:ScheduleTasks=false", "--Logging:LogLevel:Default=Warning",
                "--Logging:LogLevel:TaskBus.Worker=Information", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information", .. extra])
                info.ArgumentList.Add(arg);
            return new WorkerProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start the worker"));
        }

        public Task StartedAsync() => _started.Task.WaitAsync(TimeSpan.FromMinutes(2));

        private void Keep(string? line)
        {
            if (line is null)
                return;
            if (line.Contains(" started as ", StringComparison.Ordinal))
                _started.TrySetResult();
            _last.Enqueue(line);
            while (_last.Count > 20)
                _last.TryDequeue(out _);
        }

        public double RssMiB()
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_exited.TrySetResult() && _disposed)
                return;
            _disposed = true;
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
    }
}
