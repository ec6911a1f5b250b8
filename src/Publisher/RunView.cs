using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using TaskBus.Contracts;
using TaskBus.Runs;

namespace TaskBus.Publisher;

/// <summary>How the publisher shows runs to a person: states in colour, the latest runs as a live table.</summary>
internal static class RunView
{
    /// <summary>A console on <paramref name="writer"/>: colour only on a terminal without <c>NO_COLOR</c>.</summary>
    public static IAnsiConsole Console(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.Detect,
        ColorSystem = ColorSystemSupport.Detect,
        Out = new AnsiConsoleOutput(writer),
    });

    public static string State(TaskState state) => state switch
    {
        TaskState.Success => "[green]success[/]",
        TaskState.Failure => "[red]failure[/]",
        TaskState.Running => "[blue]running[/]",
        TaskState.Aborted or TaskState.Interrupted or TaskState.RateLimited => $"[darkorange]{state.ToWire()}[/]",
        _ => $"[grey]{state.ToWire()}[/]",
    };

    /// <summary>One event as a line: time, state, task and run, duration, error, worker.</summary>
    public static Markup Line(TaskRunEvent evt) => new(string.Create(CultureInfo.InvariantCulture,
        $"[grey]{DateTimeOffset.Now:HH:mm:ss.fff}[/] {State(evt.State)} [bold]{Markup.Escape(evt.Task)}[/].{evt.Id}" +
        $"{(evt.DurationMs is { } ms ? $" {ms:0.##} ms" : "")}{(evt.Error is { } error ? $" [red]{Markup.Escape(error)}[/]" : "")} [grey]{Markup.Escape(evt.Worker)}[/]"));

    /// <summary>The latest runs, one row each, updated in place as their events arrive.</summary>
    public sealed class LiveTable(int capacity = 25)
    {
        private readonly List<TaskRunEvent> _runs = [];

        public int Count => _runs.Count;

        public void Apply(TaskRunEvent evt)
        {
            var i = _runs.FindIndex(r => r.Id == evt.Id);
            if (i >= 0)
                _runs.RemoveAt(i);
            _runs.Insert(0, evt);
            if (_runs.Count > capacity)
                _runs.RemoveAt(_runs.Count - 1);
        }

        public IRenderable Render()
        {
            var table = new Table().Border(TableBorder.Rounded).BorderColor(Color.Grey)
                .AddColumns("run", "task", "state", "duration", "worker", "error");
            foreach (var run in _runs)
            {
                table.AddRow(
                    new Text(run.Id[..8]),
                    new Markup($"[bold]{Markup.Escape(run.Task)}[/]"),
                    new Markup(State(run.State)),
                    new Text(run.DurationMs is { } ms ? string.Create(CultureInfo.InvariantCulture, $"{ms:0.##} ms") : ""),
                    new Text(run.Worker),
                    new Text(run.Error ?? ""));
            }
            return table;
        }
    }
}
