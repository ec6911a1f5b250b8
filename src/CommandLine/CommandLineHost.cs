using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Runs;
using TaskBus.Serialization;

namespace TaskBus.CommandLine;

/// <summary>
/// What TaskBus command lines share: exit code 2 with one clear line for bad input and for a broker or store
/// that cannot be reached or used (the stack trace only at debug level), host start-up, run output.
/// </summary>
internal static partial class CommandLineHost
{
    /// <summary>The exit code for bad configuration, arguments or params, and for a broker or store that cannot be used.</summary>
    public const int BadInput = 2;

    /// <summary>Prints <c>Error: {message}</c> on standard error and returns <see cref="BadInput"/>.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"Error: {message}");
        return BadInput;
    }

    /// <summary>
    /// Logs <paramref name="exception"/> with its stack at debug level, prints it as one line naming the
    /// setting and host at fault (<see cref="Describe"/>) and returns <see cref="BadInput"/>.
    /// </summary>
    public static int Fail(IHost host, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(exception);
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TaskBus.CommandLine");
        LogFailure(logger, exception);
        return Fail(Describe(exception, host.Services.GetRequiredService<IOptions<TaskBusOptions>>().Value));
    }

    /// <summary>
    /// The command lines' logging: the <see cref="CompactConsoleFormatter"/>, with stack traces when
    /// <c>Logging:LogLevel:Default</c> is <c>Debug</c> or <c>Trace</c>.
    /// </summary>
    public static void ConfigureLogging(IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Logging.AddConsoleFormatter<CompactConsoleFormatter, CompactConsoleFormatterOptions>();
        var verbose = Enum.TryParse<LogLevel>(builder.Configuration["Logging:LogLevel:Default"], ignoreCase: true, out var level) && level <= LogLevel.Debug;
        builder.Services.Configure<CompactConsoleFormatterOptions>(o => o.StackTraces |= verbose);
    }

    /// <summary>Builds a host and checks its TaskBus options; on bad configuration prints the problem and returns null.</summary>
    public static IHost? TryBuild(Func<IHost> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        try
        {
            var host = build();
            // Bound and checked once, here: a bad value, or a Schedules or Retries key naming no task, is one line.
            _ = host.Services.GetRequiredService<IOptions<TaskBusOptions>>().Value;
            return host;
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
        {
            Fail(ex is InvalidOperationException invalid && TaskBus.Serialization.UserText.Configuration(invalid) is { } setting ? setting : ex.Message);
            return null;
        }
    }

    /// <summary>Starts a host; returns null when it started, else prints why in one line and returns <see cref="BadInput"/>.</summary>
    public static async Task<int?> TryStartAsync(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        try
        {
            await host.StartAsync();
            return null;
        }
        catch (Exception ex)
        {
            return Fail(host, ex);
        }
    }

    /// <summary>
    /// Stops a command line's host, waiting no more than 5 s: a broker that blocks publishers (a resource alarm) does
    /// not read the connection's close either, and the command has already said what became of its run.
    /// </summary>
    public static async Task StopAsync(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await host.StopAsync(bounded.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Disposes a command line's host when the command is done, waiting no more than 5 s: a broker that blocks
    /// publishers does not read the close of MassTransit's connection either, which would hold the exit for a minute
    /// after the command has said all it had to say.
    /// </summary>
    public static IAsyncDisposable Releasing(IHost host) => new BoundedRelease(host);

    /// <summary>
    /// Runs a command on a host; a broker or store that cannot be reached or used, or a run that cannot be
    /// queued, ends it with one line and <see cref="BadInput"/>.
    /// </summary>
    public static async Task<int> RunAsync(IHost host, Func<Task<int>> command)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(command);
        try
        {
            return await command();
        }
        catch (Exception ex) when (IsInfrastructure(ex))
        {
            return Fail(host, ex);
        }
    }

    /// <summary>
    /// One line for a failure: the setting and host at fault and the reason, e.g.
    /// <c>TaskBus:Store:ConnectionString: PostgreSQL at localhost:5432 (database taskbus, user taskbus): 28P01: password authentication failed for user "taskbus"</c>.
    /// </summary>
    public static string Describe(Exception exception, TaskBusOptions options)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(options);
        var chain = Chain(exception).ToList();
        // A queue layout that differs from the group's on the broker: its message names the setting.
        if (chain.OfType<TaskBus.RabbitMq.RabbitMqLayoutException>().FirstOrDefault() is { } layout)
            return layout.Message;
        if (chain.OfType<TaskQueueException>().FirstOrDefault() is { } queue)
            return $"TaskBus:QueueName: {queue.Message}";
        if (chain.OfType<NpgsqlException>().FirstOrDefault() is { } postgres)
            return $"TaskBus:Store:ConnectionString: PostgreSQL {PostgresWhere(options.Store.ConnectionString)}: {PostgresReason(postgres)}";
        if (chain.Any(IsRabbitMq))
            return $"TaskBus:RabbitMQ:Url: RabbitMQ {RabbitMqWhere(options.RabbitMQ.Url)}: {Innermost(chain)}";
        // TaskBus's own refusals (a setting that does not hold) say what to change; their type says nothing more.
        if (exception is InvalidOperationException or OptionsValidationException && exception.InnerException is null)
            return exception.Message.ReplaceLineEndings(" ").Trim();
        return CompactConsoleFormatter.Summary(exception);
    }

    /// <summary>The run as one line of JSON, as the command lines print it.</summary>
    public static string ToJson(TaskRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.UniqueKey is null && run.ExpiresAt is null)
            return JsonSerializer.Serialize(run.ToEvent(TaskManager.WorkerName), TaskBusJson.Options);
        // A run queued with terms says so, and whether it was one already queued (nothing was sent).
        var json = JsonSerializer.SerializeToNode(run.ToEvent(TaskManager.WorkerName), TaskBusJson.Options)!.AsObject();
        json["deduplicated"] = run.Deduplicated;
        json["uniqueKey"] = run.UniqueKey;
        json["expiresAt"] = run.ExpiresAt is { } at ? JsonSerializer.SerializeToNode(at, TaskBusJson.Options) : null;
        return json.ToJsonString(TaskBusJson.Options);
    }

    private static bool IsInfrastructure(Exception exception) =>
        Chain(exception).Any(e => e is TaskQueueException or NpgsqlException || IsRabbitMq(e));

    private static bool IsRabbitMq(Exception exception) =>
        exception is RabbitMqConnectionException || exception.GetType().Namespace?.StartsWith("RabbitMQ.Client", StringComparison.Ordinal) == true;

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e is AggregateException { InnerExceptions.Count: > 0 } all ? all.InnerExceptions[0] : e.InnerException)
            yield return e;
    }

    private static string Innermost(List<Exception> chain)
    {
        var innermost = chain[^1];
        return innermost.Message.ReplaceLineEndings(" ").Trim();
    }

    private static string PostgresReason(NpgsqlException exception) => exception switch
    {
        PostgresException postgres => $"{postgres.SqlState}: {postgres.MessageText}",
        { InnerException: { } inner } => inner.Message.ReplaceLineEndings(" ").Trim(),
        _ => exception.Message.ReplaceLineEndings(" ").Trim(),
    };

    private static string PostgresWhere(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return $"at {builder.Host}:{builder.Port} (database {builder.Database ?? builder.Username}, user {builder.Username})";
        }
        catch (ArgumentException)
        {
            return "(connection string not readable)";
        }
    }

    private static string RabbitMqWhere(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri)
        ? $"at {uri.Host}:{(uri.IsDefaultPort || uri.Port < 0 ? (uri.Scheme == "amqps" ? 5671 : 5672) : uri.Port)} (vhost {(uri.AbsolutePath.Length > 1 ? Uri.UnescapeDataString(uri.AbsolutePath[1..]) : "/")})"
        : $"'{url}'";

    [LoggerMessage(EventId = 2301, Level = LogLevel.Debug, Message = "The command failed")]
    private static partial void LogFailure(ILogger logger, Exception exception);

    private sealed class BoundedRelease(IHost host) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            var disposing = host is IAsyncDisposable async ? async.DisposeAsync().AsTask() : Task.Run(host.Dispose);
            await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(5)));
        }
    }
}
