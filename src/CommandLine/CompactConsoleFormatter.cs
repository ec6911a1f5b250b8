using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace TaskBus.CommandLine;

/// <summary>
/// The command lines' console format, <c>taskbus</c>: one line per entry, an exception as its type and
/// message (and those of its innermost cause). Stack traces only with <see cref="CompactConsoleFormatterOptions.StackTraces"/>,
/// which the command lines turn on when <c>Logging:LogLevel:Default</c> is <c>Debug</c> or <c>Trace</c>.
/// </summary>
internal sealed class CompactConsoleFormatter(IOptionsMonitor<CompactConsoleFormatterOptions> options) : ConsoleFormatter(Name)
{
    /// <summary>The formatter's name: <c>taskbus</c>.</summary>
    public new const string Name = "taskbus";

    /// <inheritdoc />
    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null)
            return;
        var settings = options.CurrentValue;
        // A start that fails is said once, by the command line, in the user's words: the hosts' own lines for it would
        // say it again, twice, naming .NET types (shown with stack traces at debug level).
        if (!settings.StackTraces && IsStartFailure(logEntry.Category, logEntry.EventId.Id))
            return;
        if (settings.TimestampFormat is { } format)
            textWriter.Write((settings.UseUtcTimestamp ? TimeProvider.System.GetUtcNow() : TimeProvider.System.GetLocalNow()).ToString(format, System.Globalization.CultureInfo.InvariantCulture));
        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id);
        textWriter.Write("] ");
        textWriter.Write(OneLine(message));
        if (logEntry.Exception is { } exception)
        {
            textWriter.Write(" (");
            textWriter.Write(Summary(exception));
            textWriter.Write(')');
            if (settings.StackTraces)
            {
                textWriter.WriteLine();
                textWriter.Write(exception.ToString());
            }
        }
        textWriter.WriteLine();
    }

    /// <summary>The hosts' own lines for a start that failed: "Hosting failed to start", "Application startup exception".</summary>
    private static bool IsStartFailure(string category, int eventId) =>
        (eventId == 11 && category == "Microsoft.Extensions.Hosting.Internal.Host")
        || (eventId == 6 && category == "Microsoft.AspNetCore.Hosting.Diagnostics");

    /// <summary>An exception in one line: its type and message, then its innermost cause's when that is another.</summary>
    public static string Summary(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var innermost = exception;
        while (innermost.InnerException is { } inner)
            innermost = inner;
        var outer = $"{exception.GetType().Name}: {OneLine(exception.Message)}";
        return ReferenceEquals(innermost, exception) || exception.Message.Contains(innermost.Message, StringComparison.Ordinal)
            ? outer
            : $"{outer} <- {innermost.GetType().Name}: {OneLine(innermost.Message)}";
    }

    private static string OneLine(string? text) =>
        string.IsNullOrEmpty(text) ? "" : text.ReplaceLineEndings(" ").Trim();

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
