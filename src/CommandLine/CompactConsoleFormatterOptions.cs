using Microsoft.Extensions.Logging.Console;

namespace TaskBus.CommandLine;

/// <summary>Options of <see cref="CompactConsoleFormatter"/>.</summary>
internal sealed class CompactConsoleFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>Write an exception's stack trace after its entry. Defaults to false.</summary>
    public bool StackTraces { get; set; }
}
