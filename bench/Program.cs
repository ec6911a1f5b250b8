using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TaskBus;
using TaskBus.Bench;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.RabbitMq;
using TaskBus.Worker.Tasks;

// Usage: TaskBus.Bench [N] [--quick] [--url amqp://...] [--postgres CONNECTION] [--redis HOST:PORT] [--concurrency C] [--rounds R] [--only CASE]
//   --only layouts: the group's queue as one classic queue, three classic shards, quorum queues, three quorum shards (events off)
// Queues N noop tasks through TaskBus and N messages through a bare MassTransit consumer, on the
// same transport and the same kind of queue, in one run; prints tasks/s and the ratio per case, each as a JSON line.
// --quick: every case, small enough for a CI-sized machine in a few minutes.
var quick = args.Contains("--quick");
var n = args.Length > 0 && int.TryParse(args[0], CultureInfo.InvariantCulture, out var parsed) ? parsed : quick ? 2_000 : 10_000;
var url = Arg("--url") ?? Environment.GetEnvironmentVariable("TaskBus__RabbitMQ__Url") ?? "amqp://guest:guest@localhost:5672/";
var concurrency = int.Parse(Arg("--concurrency") ?? "32", CultureInfo.InvariantCulture);
var rounds = int.Parse(Arg("--rounds") ?? (quick ? "1" : "5"), CultureInfo.InvariantCulture);
// The in-memory transport is ten times faster: ten times the runs, so each case lasts long enough to measure.
var inMemoryN = n * 10;
// The PostgreSQL server of scripts/start-postgres.sh unless told otherwise; the bench makes a database of its own there.
var postgresServer = Arg("--postgres") ?? Environment.GetEnvironmentVariable("TaskBus__Store__ConnectionString")
    ?? "Host=localhost;Username=taskbus;Password=taskbus;Database=taskbus";
const int InFlight = 256;

Console.WriteLine($"bench: n={n} concurrency={concurrency} rounds={rounds} broker={new Uri(url).Host} cores={Environment.ProcessorCount}");
// TaskBus's own cases need RabbitMQ, and PostgreSQL for the stored ones: one line each when missing, before any work.
var amqp = new Uri(url);
if (await UnreachableAsync($"{amqp.Host}:{(amqp.Port > 0 ? amqp.Port : 5672)}") is { } noBroker)
{
    Console.WriteLine($"bench: RabbitMQ is not reachable at {amqp.Host}:{(amqp.Port > 0 ? amqp.Port : 5672)} ({noBroker}); start it with bash scripts/start-rabbitmq.sh or give --url");
    return 2;
}
var needsPostgres = Arg("--only") is null or "postgres-events-on" or "control" or "peers" or "rss";
if (needsPostgres)
{
    try
    {
        await using var probe = new Npgsql.NpgsqlConnection(postgresServer);
        await probe.OpenAsync();
    }
    catch (Exception ex) when (ex is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
    {
        Console.WriteLine($"bench: PostgreSQL is not reachable with --postgres ({ex.Message}); start it with bash scripts/start-postgres.sh or give --postgres CONNECTION");
        return 2;
    }
}
await Leftovers.RemoveAsync(url, needsPostgres ? postgresServer : null);
var results = new List<Result>();
// One row per figure for the README table: the case, what was measured, the figure, and its bar where it has one.
var summary = new List<(string Case, string What, string Figure, string Bar, bool? Met)>();
var httpResults = new List<(HttpMeasure Http, double BusPerSecond)>();
// Round 0 warms the JIT (tiered compilation changes per-message cost a lot) and is not counted.
for (var round = 0; round <= rounds; round++)
{
    if (round == 1)
    {
        results.Clear();
        httpResults.Clear();
    }
    Console.WriteLine(round == 0 ? "warm-up round" : $"round {round}");
    // Interleave the cases so drift in the machine's load hits all of them alike.
    var only = Arg("--only");
    if (only == "http")
    {
        try
        {
            var h = await HttpCase.RunAsync(url, n, concurrency, Arg("--postgres"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  http {h.RequestsPerSecond:0} req/s, p50 {h.P50Ms:0.0} ms, p99 {h.P99Ms:0.0} ms"));
        }
        finally
        {
            await DeleteQueueAsync("taskbus-bench-http");
        }
        continue;
    }
    if (only is "scale-out" or "rss" or "peers" or "queue-and-wait" or "control")
        break;
    if (only is "layouts")
    {
        // The group's queue as one classic queue, three classic shards, quorum queues (one shard, three): events off.
        // Each against the one classic queue of the same round.
        double? one = null;
        foreach (var (type, shards) in new[] { (RabbitMqQueueType.Classic, 1), (RabbitMqQueueType.Classic, 3), (RabbitMqQueueType.Quorum, 1), (RabbitMqQueueType.Quorum, 3) })
        {
            var m = await RunTaskBusAsync(false, TaskBusTransport.RabbitMQ, null, type, shards);
            one ??= m.PerSecond;
            results.Add(new($"layout-{type.ToString().ToLowerInvariant()}-{shards}", m.PerSecond, one.Value, m));
        }
        continue;
    }
    if (only is "inmemory")
    {
        await RunInMemoryRoundAsync();
        continue;
    }
    if (only is "postgres-events-on")
    {
        var bareRound = await RunBareAsync();
        await using var db = await BenchDatabase.CreateAsync(postgresServer);
        var storedRound = await RunTaskBusAsync(true, TaskBusTransport.RabbitMQ, db.ConnectionString);
        results.Add(new(only, storedRound.PerSecond, bareRound.PerSecond, storedRound));
        continue;
    }
    if (only is "rabbitmq")
    {
        // The main ratios in two minutes: the broker's ceiling, bare MassTransit, TaskBus events off and on.
        var rawRound = await RunRawAsync();
        var bareRound = await RunBareAsync();
        results.Add(new("raw", rawRound.PerSecond, bareRound.PerSecond, rawRound, rawRound.PerSecond));
        results.Add(new("bare", bareRound.PerSecond, bareRound.PerSecond, bareRound, rawRound.PerSecond));
        foreach (var events in new[] { false, true })
        {
            var tasks = await RunTaskBusAsync(events);
            results.Add(new(events ? "events-on" : "events-off", tasks.PerSecond, bareRound.PerSecond, tasks, rawRound.PerSecond));
        }
        continue;
    }
    if (only is "raw")
    {
        var m = await RunRawAsync();
        results.Add(new(only, m.PerSecond, m.PerSecond, m, m.PerSecond));
        continue;
    }
    if (only is not null)
    {
        var m = only == "bare" ? await RunBareAsync() : await RunTaskBusAsync(only == "events-on");
        results.Add(new(only, m.PerSecond, m.PerSecond, m));
        continue;
    }
    var raw = await RunRawAsync();
    var bare = await RunBareAsync();
    results.Add(new("raw", raw.PerSecond, bare.PerSecond, raw, raw.PerSecond));
    results.Add(new("bare", bare.PerSecond, bare.PerSecond, bare, raw.PerSecond));
    Measure? eventsOn = null;
    foreach (var events in new[] { false, true })
    {
        var tasks = await RunTaskBusAsync(events);
        results.Add(new(events ? "events-on" : "events-off", tasks.PerSecond, bare.PerSecond, tasks, raw.PerSecond));
        eventsOn = events ? tasks : eventsOn;
    }
    // The production path: every run stored in PostgreSQL, events on, against this round's bare consumer.
    var database = await BenchDatabase.CreateAsync(postgresServer);
    try
    {
        var stored = await RunTaskBusAsync(true, TaskBusTransport.RabbitMQ, database.ConnectionString);
        results.Add(new("postgres-events-on", stored.PerSecond, bare.PerSecond, stored, raw.PerSecond));
    }
    finally
    {
        await database.DisposeAsync();
    }
    await RunInMemoryRoundAsync();
    // POST /tasks/noop by 16 HTTP clients, against the bus's own events-on figure of this round.
    HttpMeasure web;
    try
    {
        web = await HttpCase.RunAsync(url, n, concurrency, null);
    }
    finally
    {
        await DeleteQueueAsync("taskbus-bench-http");
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  http        {web.RequestsPerSecond,8:0} req/s, p50 {web.P50Ms:0.0} ms, p99 {web.P99Ms:0.0} ms"));
    httpResults.Add((web, eventsOn!.PerSecond));
}

if (Arg("--only") is "scale-out" or "rss")
{
    await WorkerCasesAsync(Arg("--only")!);
    return 0;
}
if (Arg("--only") is "peers")
{
    await PeersAsync();
    return 0;
}
var wait = Arg("--only") is null or "queue-and-wait" ? await QueueAndWaitCase.RunAsync(url, quick ? 200 : 2_000) : null;
if (wait is not null)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"queue-and-wait ({wait.Samples} one at a time): TaskBus p50 {wait.P50Ms:0.00} ms p99 {wait.P99Ms:0.00} ms; MassTransit request/response p50 {wait.BareP50Ms:0.00} ms p99 {wait.BareP99Ms:0.00} ms"));
if (Arg("--only") is "queue-and-wait")
    return 0;
if (Arg("--only") is null or "control")
{
    var control = await ControlCases.RunAsync(url, postgresServer, quick);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"control: cancel of a running run to aborted ({control.Cancels}, other host) p50 {control.CancelP50Ms:0} ms p99 {control.CancelP99Ms:0} ms; "
        + $"delayed runs started after due ({control.Delayed}) p50 {control.LateP50Ms:0} ms p99 {control.LateP99Ms:0} ms; "
        + $"prune of {control.Pruned} runs in {control.PruneMs:0} ms, longest batch write {control.WriteDuringPruneMaxMs:0.0} ms during it ({control.WriteBaselineMaxMs:0.0} ms before)"));
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        @case = "control",
        cancels = control.Cancels,
        cancelP50Ms = Math.Round(control.CancelP50Ms, 1),
        cancelP99Ms = Math.Round(control.CancelP99Ms, 1),
        delayed = control.Delayed,
        lateP50Ms = Math.Round(control.LateP50Ms, 1),
        lateP99Ms = Math.Round(control.LateP99Ms, 1),
        pruned = control.Pruned,
        pruneMs = Math.Round(control.PruneMs),
        writeBaselineMaxMs = Math.Round(control.WriteBaselineMaxMs, 1),
        writeDuringPruneMaxMs = Math.Round(control.WriteDuringPruneMaxMs, 1),
    }));
    summary.Add(("cancel", "cancel of a running run (other host) to its aborted: p50, p99", string.Create(CultureInfo.InvariantCulture,
        $"**{control.CancelP50Ms:0} ms**, {control.CancelP99Ms:0} ms"), "—", null));
    summary.Add(("delayed", "delayed runs: start − due, p50, p99", string.Create(CultureInfo.InvariantCulture,
        $"**{control.LateP50Ms:0} ms**, {control.LateP99Ms:0} ms"), "—", null));
    summary.Add(("prune", $"longest write of 100 runs while {control.Pruned} are pruned (before)", string.Create(CultureInfo.InvariantCulture,
        $"**{control.WriteDuringPruneMaxMs:0.0} ms** ({control.WriteBaselineMaxMs:0.0} ms)"), "< 100 ms", control.WriteDuringPruneMaxMs < 100));
    if (Arg("--only") is "control")
        return 0;
}

Console.WriteLine();
Console.WriteLine($"{"case",-20} {"tasks/s",10} {"bare/s",10} {"ratio",7} {"spread",11} {"÷ raw",7} {"KB/task",8} {"client us",10} {"broker us",10}");
foreach (var group in results.GroupBy(r => r.Case))
{
    // The median round of each case, by ratio to the bare consumer of the same round; the spread is the ratio's range over the rounds.
    var best = Median(group);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{best.Case,-20} {best.PerSecond,10:0} {best.BarePerSecond,10:0} {best.PerSecond / best.BarePerSecond,7:0.00} {Spread(group),11} {(best.RawPerSecond > 0 ? (best.PerSecond / best.RawPerSecond).ToString("0.00", CultureInfo.InvariantCulture) : "—"),7} {best.Measure.AllocatedPerMessage / 1024,8:0.0} {best.Measure.ClientCpuUs,10:0} {best.Measure.BrokerCpuUs,10:0}"));
}
var ratioBars = new Dictionary<string, double> { ["events-on"] = 0.9, ["inmemory-events-off"] = 0.9, ["inmemory-events-on"] = 0.6, ["postgres-events-on"] = 0.6 };
// TaskBus against the broker's own ceiling (RabbitMQ.Client alone) of the same rounds.
foreach (var group in results.GroupBy(r => r.Case).Where(g => g.Key is "bare" or "events-off" or "events-on" && g.Any(r => r.RawPerSecond > 0)))
{
    var ratios = group.Select(r => r.PerSecond / r.RawPerSecond).Order().ToList();
    var median = ratios[ratios.Count / 2];
    var raw = group.Select(r => r.RawPerSecond).Order().ElementAt(ratios.Count / 2);
    summary.Add(($"{group.Key} ÷ raw", "tasks/s ÷ RabbitMQ.Client alone (same queue, confirms, acks)", string.Create(CultureInfo.InvariantCulture,
        $"÷ {raw:0} = **{median:0.00}** ({ratios[0]:0.00}–{ratios[^1]:0.00})"), group.Key == "events-off" ? "≥ 0.6" : "—", group.Key == "events-off" ? median >= 0.6 : null));
}
foreach (var group in results.GroupBy(r => r.Case).Where(g => g.Key is not ("bare" or "inmemory-bare" or "raw")))
{
    var best = Median(group);
    var ratio = best.PerSecond / best.BarePerSecond;
    summary.Add((best.Case, best.Case.StartsWith("layout-", StringComparison.Ordinal) ? "tasks/s, events off ÷ one classic queue"
        : $"tasks/s ÷ bare MassTransit{(best.Case.StartsWith("inmemory", StringComparison.Ordinal) ? " in-memory" : "")}",
        string.Create(CultureInfo.InvariantCulture, $"{best.PerSecond:0} / {best.BarePerSecond:0} = **{RatioText(ratio, ratioBars.GetValueOrDefault(best.Case))}** ({Spread(group)})"),
        ratioBars.TryGetValue(best.Case, out var bar) ? string.Create(CultureInfo.InvariantCulture, $"≥ {bar}") : "—",
        ratioBars.TryGetValue(best.Case, out bar) ? ratio >= bar : null));
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        @case = best.Case,
        n = best.Measure.Count,
        tasksPerSecond = Math.Round(best.PerSecond, 1),
        barePerSecond = Math.Round(best.BarePerSecond, 1),
        ratio = Math.Round(best.PerSecond / best.BarePerSecond, 3),
        kbPerTask = Math.Round(best.Measure.AllocatedPerMessage / 1024, 1),
        clientCpuUsPerTask = Math.Round(best.Measure.ClientCpuUs),
        brokerCpuUsPerTask = Math.Round(best.Measure.BrokerCpuUs),
    }));
}
if (httpResults.Count > 0)
{
    var (web, bus) = httpResults.OrderBy(r => r.Http.RequestsPerSecond / r.BusPerSecond).ElementAt(httpResults.Count / 2);
    summary.Add(("http", $"POST /tasks/noop req/s ÷ events-on tasks/s; p50, p99", string.Create(CultureInfo.InvariantCulture,
        $"{web.RequestsPerSecond:0} / {bus:0} = **{web.RequestsPerSecond / bus:0.00}**; {web.P50Ms:0.0} ms, {web.P99Ms:0.0} ms"), "—", null));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"http (POST /tasks/noop, {HttpCase.Clients} clients): {web.RequestsPerSecond:0} req/s = {web.RequestsPerSecond / bus:0.00} of the bus's {bus:0} tasks/s (events on); p50 {web.P50Ms:0.0} ms, p99 {web.P99Ms:0.0} ms"));
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        @case = "http",
        n,
        clients = HttpCase.Clients,
        requestsPerSecond = Math.Round(web.RequestsPerSecond, 1),
        busPerSecond = Math.Round(bus, 1),
        ratio = Math.Round(web.RequestsPerSecond / bus, 3),
        p50Ms = Math.Round(web.P50Ms, 1),
        p99Ms = Math.Round(web.P99Ms, 1),
    }));
}
// --only CASE: that case's lines and no more.
if (wait is null)
    return 0;
summary.Add(("queue-and-wait", "p50 ÷ MassTransit request/response p50; p99", string.Create(CultureInfo.InvariantCulture,
    $"{wait.P50Ms:0.00} / {wait.BareP50Ms:0.00} ms = **{wait.P50Ms / wait.BareP50Ms:0.00}×**; p99 {wait.P99Ms:0.0} ms"), "≤ 1.5×, p99 ≤ 10 ms",
    wait.P50Ms / wait.BareP50Ms <= 1.5 && wait.P99Ms <= 10));
Console.WriteLine(JsonSerializer.Serialize(new
{
    @case = "queue-and-wait",
    n = wait.Samples,
    p50Ms = Math.Round(wait.P50Ms, 2),
    p99Ms = Math.Round(wait.P99Ms, 2),
    bareP50Ms = Math.Round(wait.BareP50Ms, 2),
    bareP99Ms = Math.Round(wait.BareP99Ms, 2),
    ratio = Math.Round(wait.P50Ms / wait.BareP50Ms, 3),
}));
// Worker processes: scale-out on sleep runs, and what a deployed worker costs in memory.
await WorkerCasesAsync(null);
await PeersAsync();

// Hangfire 1.8 on Redis and on PostgreSQL, the same no-op job, against this run's TaskBus figures: events on
// (RabbitMQ, memory store) for Redis, and every run stored in PostgreSQL for Hangfire's PostgreSQL storage.
async Task PeersAsync()
{
    var redis = Arg("--redis") ?? "localhost:6379";
    var taskBus = MedianPerSecond("events-on") ?? (await RunTaskBusAsync(true)).PerSecond;
    double stored;
    if (MedianPerSecond("postgres-events-on") is { } known)
        stored = known;
    else
    {
        await using var database = await BenchDatabase.CreateAsync(postgresServer);
        stored = (await RunTaskBusAsync(true, TaskBusTransport.RabbitMQ, database.ConnectionString)).PerSecond;
    }
    foreach (var (name, jobs, run, ours, oursCase) in new (string, int, Func<int, Task<double>>, double, string)[]
    {
        ("peer-hangfire-redis", quick ? 1_000 : 5_000, j => HangfireCase.RedisAsync(redis, j, concurrency), taskBus, "events-on"),
        ("peer-hangfire-postgres", quick ? 300 : 2_000, j => HangfireCase.PostgresAsync(postgresServer, j, concurrency), stored, "postgres-events-on"),
    })
    {
        // A peer whose server is not running is skipped, named, with how to start it; the bench goes on.
        if (name == "peer-hangfire-redis" && await UnreachableAsync(redis) is { } why)
        {
            Console.WriteLine($"{name}: skipped: no Redis at {redis} ({why}); start it with bash scripts/start-redis.sh or give --redis HOST:PORT");
            summary.Add((name, "TaskBus events-on ÷ Hangfire 1.8, no-op", $"skipped: no Redis at {redis}", "—", null));
            continue;
        }
        double peer;
        try
        {
            peer = await run(jobs);
        }
        catch (Exception ex)
        {
            Console.WriteLine($"{name}: skipped: {ex.GetType().Name}: {ex.Message}");
            summary.Add((name, $"TaskBus {oursCase} ÷ Hangfire 1.8, no-op", $"skipped: {ex.GetType().Name}", "—", null));
            continue;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: Hangfire {peer:0} jobs/s ({concurrency} workers); TaskBus {oursCase} {ours:0} tasks/s = {ours / peer:0.0}×"));
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            @case = name,
            n = jobs,
            hangfirePerSecond = Math.Round(peer, 1),
            taskBusCase = oursCase,
            taskBusPerSecond = Math.Round(ours, 1),
            ratio = Math.Round(ours / peer, 2),
        }));
        summary.Add((name, $"TaskBus {oursCase} ÷ Hangfire 1.8, no-op", string.Create(CultureInfo.InvariantCulture, $"{ours:0} / {peer:0} = **{ours / peer:0.0}×**"), "—", null));
    }
}

// Why a TCP server cannot be reached at host:port within 2 s; null when it answers.
static async Task<string?> UnreachableAsync(string hostPort)
{
    var colon = hostPort.LastIndexOf(':');
    var (host, port) = colon > 0 ? (hostPort[..colon], int.Parse(hostPort[(colon + 1)..], CultureInfo.InvariantCulture)) : (hostPort, 6379);
    using var client = new System.Net.Sockets.TcpClient();
    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
    try
    {
        await client.ConnectAsync(host, port, timeout.Token);
        return null;
    }
    catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
    {
        return ex is OperationCanceledException ? "no answer within 2 s" : ex.Message;
    }
}

double? MedianPerSecond(string name) =>
    results.Any(r => r.Case == name) ? Median(results.Where(r => r.Case == name)).PerSecond : null;

async Task WorkerCasesAsync(string? only)
{
    if (only is null or "scale-out")
        await ScaleOutCaseAsync();
    if (only is null or "rss")
        await RssCaseAsync();
}

async Task ScaleOutCaseAsync()
{
foreach (var workers in new[] { 1, 2, 4 })
{
    var runs = 400;
    var efficiency = await WorkerCases.ScaleOutAsync(url, workers, runs);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scale-out: {runs} sleep(200 ms) runs on {workers} worker(s) of 5 slots: {efficiency:0.00} of ideal"));
    Console.WriteLine(JsonSerializer.Serialize(new { @case = "scale-out", n = runs, workers, efficiency = Math.Round(efficiency, 3) }));
    summary.Add(("scale-out", $"{runs} × sleep(200 ms), {workers} worker(s) × 5 slots: of ideal", string.Create(CultureInfo.InvariantCulture, $"**{efficiency:0.00}**"), "≥ 0.9", efficiency >= 0.9));
}
}

async Task RssCaseAsync()
{
var rssRuns = quick ? 2_000 : 20_000;
// As README deploys a worker (a 4 MiB gen0 budget), then with the runtime's defaults (a budget sized from the CPU's
// cache: about 25 MiB with this machine's 32 MiB L3).
foreach (var (name, environment, what) in new (string, Dictionary<string, string>, string)[]
{
    ("rss", new() { [WorkerCases.Gen0Variable] = WorkerCases.Gen0Deployed }, $"{WorkerCases.Gen0Variable}={WorkerCases.Gen0Deployed}"),
    ("rss-defaults", [], "the runtime's GC defaults"),
})
{
    var rss = await WorkerCases.RssAsync(url, postgresServer, rssRuns, environment);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: a worker (RabbitMQ, PostgreSQL store, HTTP; {what}) {rss.IdleMiB:0} MiB idle, {rss.AfterMiB:0} MiB after {rssRuns} runs"));
    Console.WriteLine(JsonSerializer.Serialize(new { @case = name, n = rssRuns, idleMiB = Math.Round(rss.IdleMiB, 1), afterMiB = Math.Round(rss.AfterMiB, 1) }));
    summary.Add((name, $"worker (RabbitMQ, PostgreSQL, HTTP; {what}) idle / after {rssRuns} runs", string.Create(CultureInfo.InvariantCulture, $"**{rss.IdleMiB:0} / {rss.AfterMiB:0} MiB**"),
        name == "rss" ? "≤ 100 / ≤ 150 MiB" : "—", name == "rss" ? rss.IdleMiB <= 100 && rss.AfterMiB <= 150 : null));
}
}

// Scheduler lag: fire time → queued, on the clustered Quartz store (PostgreSQL) when a connection string is given.
var store = Arg("--postgres") ?? Environment.GetEnvironmentVariable("TaskBus__Store__ConnectionString");
var lag = await RunSchedulerLagAsync(store);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"scheduler lag ({(store is null ? "memory store" : "clustered PostgreSQL store")}, {lag.Count} ticks every 100 ms): p50 {Stats.Percentile(lag, 0.5):0.0} ms, p99 {Stats.Percentile(lag, 0.99):0.0} ms, max {lag.Max():0.0} ms"));
Console.WriteLine(JsonSerializer.Serialize(new
{
    @case = "scheduler-lag",
    store = store is null ? "memory" : "postgresql",
    ticks = lag.Count,
    p50Ms = Math.Round(Stats.Percentile(lag, 0.5), 1),
    p99Ms = Math.Round(Stats.Percentile(lag, 0.99), 1),
}));

// The README table: every figure of this run against its bar.
Console.WriteLine();
Console.WriteLine($"README table ({Environment.ProcessorCount} cores, broker {new Uri(url).Host}, n={n}, rounds={rounds}{(quick ? ", quick" : "")}):");
Console.WriteLine();
Console.WriteLine("| case | measured | figure | bar | |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var row in summary)
    Console.WriteLine($"| `{row.Case}` | {row.What} | {row.Figure} | {row.Bar} | {(row.Met is null ? "" : row.Met.Value ? "met" : "**not met**")} |");
return 0;


async Task<List<double>> RunSchedulerLagAsync(string? postgres)
{
    var interval = TimeSpan.FromMilliseconds(100);
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.AddTaskBus(o =>
    {
        o.Transport = TaskBusTransport.RabbitMQ;
        o.RabbitMQ.Url = url;
        o.QueueName = "taskbus-bench-schedule";
        o.ScheduleTasks = true;
        o.PublishEvents = false;
        o.Schedules["noop"] = interval.ToString();
        if (postgres is not null)
        {
            o.Store.Provider = TaskStoreProvider.PostgreSQL;
            o.Store.ConnectionString = postgres;
        }
    }).AddTask<NoopTask>();
    using var host = builder.Build();
    var manager = host.Services.GetRequiredService<TaskManager>();
    // Lag: the tick a run belongs to (its scheduledFor) → the run is queued.
    var lags = new System.Collections.Concurrent.ConcurrentQueue<double>();
    manager.RegisterHandler("queued.bench", run => lags.Enqueue((run.Queued!.Value - run.ScheduledFor!.Value).TotalMilliseconds));
    await host.StartAsync();
    await Task.Delay(TimeSpan.FromSeconds(12));
    await host.StopAsync();
    await DeleteQueueAsync("taskbus-bench-schedule");
    return [.. lags.Skip(5)];
}

// A ratio to two places, or cut to three where two would round it onto its bar (0.8996 is not 0.90, nor 0.900, against
// a bar of 0.9).
static string RatioText(double ratio, double bar) =>
    bar > 0 && ratio < bar && Math.Round(ratio, 2) >= bar
        ? (Math.Floor(ratio * 1000) / 1000).ToString("0.000", CultureInfo.InvariantCulture)
        : ratio.ToString("0.00", CultureInfo.InvariantCulture);

// The lowest and highest ratio to the bare consumer over the rounds.
static string Spread(IEnumerable<Result> rounds)
{
    var ratios = rounds.Select(r => r.PerSecond / r.BarePerSecond).ToList();
    return string.Create(CultureInfo.InvariantCulture, $"{ratios.Min():0.00}–{ratios.Max():0.00}");
}

async Task<Measure> RunRawAsync()
{
    var counter = new Counter();
    await using var raw = await RawCase.StartAsync(url, concurrency, counter);
    await Warmup(raw.PublishAsync, counter);
    var measure = await Time(raw.PublishAsync, counter);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  raw         {measure.PerSecond,8:0}/s"));
    return measure;
}

static Result Median(IEnumerable<Result> rounds)
{
    var sorted = rounds.OrderBy(r => r.PerSecond / r.BarePerSecond).ToList();
    return sorted[sorted.Count / 2];
}

async Task<Measure> RunBareAsync()
{
    var counter = new Counter();
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddSingleton(counter);
    builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
    builder.Services.AddMassTransit(x =>
    {
        x.AddConsumer<BareConsumer>();
        x.UsingRabbitMq((context, cfg) =>
        {
            cfg.Host(new Uri(url));
            cfg.ReceiveEndpoint("taskbus-bench-bare", e =>
            {
                e.EnablePriority(2);
                e.PrefetchCount = concurrency;
                e.ConcurrentMessageLimit = concurrency;
                e.PurgeOnStartup = true;
                e.ConfigureConsumer<BareConsumer>(context);
            });
        });
    });
    using var host = builder.Build();
    await host.StartAsync();
    // Sent to the queue's own exchange, as TaskBus sends a run: one hop to the queue.
    var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri("exchange:taskbus-bench-bare"));
    await Warmup(() => endpoint.Send(new BareMessage(), c => c.SetPriority(1)), counter);
    var measure = await Time(() => endpoint.Send(new BareMessage(), c => c.SetPriority(1)), counter);
    await host.StopAsync();
    await DeleteQueueAsync("taskbus-bench-bare");
    // The exchange MassTransit declared for the message type, which the queue's deletion does not take.
    await Leftovers.RemoveExchangesAsync(url);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  bare        {measure.PerSecond,8:0}/s"));
    return measure;
}

// The embedded default: TaskBus on MassTransit's in-memory transport against a bare in-memory consumer.
async Task RunInMemoryRoundAsync()
{
    var bare = await RunBareInMemoryAsync();
    results.Add(new("inmemory-bare", bare.PerSecond, bare.PerSecond, bare));
    foreach (var events in new[] { false, true })
    {
        var tasks = await RunTaskBusAsync(events, TaskBusTransport.InMemory);
        results.Add(new(events ? "inmemory-events-on" : "inmemory-events-off", tasks.PerSecond, bare.PerSecond, tasks));
    }
}

async Task<Measure> RunBareInMemoryAsync()
{
    var counter = new Counter();
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddSingleton(counter);
    builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
    builder.Services.AddMassTransit(x =>
    {
        x.AddConsumer<BareConsumer>();
        x.UsingInMemory((context, cfg) => cfg.ReceiveEndpoint("taskbus-bench-bare", e =>
        {
            e.ConcurrentMessageLimit = concurrency;
            e.ConfigureConsumer<BareConsumer>(context);
        }));
    });
    using var host = builder.Build();
    await host.StartAsync();
    var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri("queue:taskbus-bench-bare"));
    await Warmup(() => endpoint.Send(new BareMessage()), counter, inMemoryN);
    var measure = await Time(() => endpoint.Send(new BareMessage()), counter, inMemoryN);
    await host.StopAsync();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  inmemory bare {measure.PerSecond,8:0}/s"));
    return measure;
}

async Task<Measure> RunTaskBusAsync(
    bool events, TaskBusTransport transport = TaskBusTransport.RabbitMQ, string? postgres = null, RabbitMqQueueType queueType = RabbitMqQueueType.Classic, int shards = 1)
{
    var counter = new Counter();
    var builder = Host.CreateApplicationBuilder();
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.AddTaskBus(o =>
    {
        o.Transport = transport;
        o.RabbitMQ.Url = url;
        o.QueueName = "taskbus-bench-tasks";
        o.MaxConcurrentTasks = concurrency;
        o.ScheduleTasks = false;
        o.PublishEvents = events;
        o.RabbitMQ.QueueType = queueType;
        o.RabbitMQ.Shards = shards;
        if (postgres is not null)
        {
            o.Store.Provider = TaskStoreProvider.PostgreSQL;
            o.Store.ConnectionString = postgres;
        }
    }).AddTask<NoopTask>();
    using var host = builder.Build();
    var manager = host.Services.GetRequiredService<TaskManager>();
    manager.RegisterHandler("success.bench", _ => counter.Increment());
    await host.StartAsync();
    var busForPlain = host.Services.GetRequiredService<IBus>();
    Func<Task> queue = args.Contains("--plain") ? () => busForPlain.Publish(new TaskBus.Contracts.Tasks.Noop(), c => c.SetPriority(1)) : () => manager.QueueAsync("noop");
    var count = transport == TaskBusTransport.InMemory ? inMemoryN : n;
    await Warmup(queue, counter, count);
    var before = postgres is null ? default : await BenchDatabase.CountersAsync(postgres);
    var storeCpu = ProcessCpu("postgres");
    var measure = await Time(queue, counter, count);
    storeCpu = ProcessCpu("postgres") - storeCpu;
    if (postgres is not null)
    {
        // Where the stored path's time goes, per run: transactions, rows, WAL (the reads include the runs' standings).
        var spent = await BenchDatabase.CountersAsync(postgres) - before;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  postgres per run: {(double)spent.Commits / count:0.00} transactions, {(double)spent.Inserted / count:0.00} rows inserted, {(double)spent.Updated / count:0.00} updated, {(double)spent.Fetched / count:0.00} fetched, {(double)spent.WalBytes / count:0} bytes of WAL, {storeCpu.TotalMicroseconds / count:0} µs of PostgreSQL's CPU"));
    }
    await host.StopAsync();
    // The store's connections close with the host's services.
    await ((IAsyncDisposable)host).DisposeAsync();
    if (transport == TaskBusTransport.RabbitMQ)
    {
        var layout = new RabbitMqLayout("taskbus-bench-tasks", queueType, shards);
        foreach (var name in layout.Names.Append(layout.ErrorQueue).Append("taskbus-bench-tasks").Distinct())
            await DeleteQueueAsync(name);
        if (layout.PriorityExchange is { } byPriority)
            await DeleteQueueAsync(byPriority);
    }
    var layoutName = queueType == RabbitMqQueueType.Classic && shards == 1 ? "" : $"{queueType.ToString().ToLowerInvariant()}-{shards} ";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {(transport == TaskBusTransport.InMemory ? "inmemory " : postgres is null ? "" : "postgres ")}{layoutName}events {(events ? "on " : "off")} {measure.PerSecond,8:0}/s"));
    return measure;
}

async Task Warmup(Func<Task> publish, Counter counter, int? count = null)
{
    var warm = Math.Min(count ?? n, 2000);
    var done = counter.Reset(warm);
    await PublishMany(publish, warm);
    await done.WaitAsync(TimeSpan.FromMinutes(2));
}

async Task<Measure> Time(Func<Task> publish, Counter counter, int? count = null)
{
    var total = count ?? n;
    GC.Collect();
    var done = counter.Reset(total);
    var allocated = GC.GetTotalAllocatedBytes(precise: true);
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var broker = BrokerCpu();
    var clock = Stopwatch.StartNew();
    await PublishMany(publish, total);
    await done.WaitAsync(TimeSpan.FromMinutes(5));
    clock.Stop();
    var cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / total;
    var brokerUs = (BrokerCpu() - broker).TotalMicroseconds / total;
    var bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
    return new Measure(total / clock.Elapsed.TotalSeconds, (double)bytes / total, cpuUs, brokerUs, total);
}

Task DeleteQueueAsync(string queue) => Rabbit.DeleteQueueAsync(url, queue);

// CPU time of the local RabbitMQ (beam.smp), from /proc; zero where it cannot be read.
static TimeSpan BrokerCpu() => ProcessCpu("beam.smp");

// CPU time of every local process of that name, from /proc; zero where it cannot be read.
static TimeSpan ProcessCpu(string name)
{
    try
    {
        var total = 0L;
        foreach (var process in Process.GetProcessesByName(name))
        {
            var fields = File.ReadAllText($"/proc/{process.Id}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        return TimeSpan.FromSeconds(total / 100.0);
    }
    catch (IOException)
    {
        return TimeSpan.Zero;
    }
}

static async Task PublishMany(Func<Task> publish, int count)
{
    var pending = new List<Task>(InFlight);
    for (var i = 0; i < count; i++)
    {
        pending.Add(publish());
        if (pending.Count == InFlight)
        {
            await Task.WhenAll(pending);
            pending.Clear();
        }
    }
    await Task.WhenAll(pending);
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

internal sealed record Measure(double PerSecond, double AllocatedPerMessage, double ClientCpuUs, double BrokerCpuUs, int Count);

internal sealed record Result(string Case, double PerSecond, double BarePerSecond, Measure Measure, double RawPerSecond = 0);
