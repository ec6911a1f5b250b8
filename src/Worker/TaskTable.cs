using System.Text.Json;
using Spectre.Console;
using TaskBus.Runs;
using TaskBus.Serialization;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus.Worker;

/// <summary><c>ls</c>: the tasks as a table for people, or a JSON array for scripts.</summary>
internal static class TaskTable
{
    /// <summary>A console on standard output: colour only on a terminal without <c>NO_COLOR</c>, never wrapped when redirected.</summary>
    public static IAnsiConsole StandardOutput()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        if (Console.IsOutputRedirected)
            console.Profile.Width = 400;
        return console;
    }

    public static async Task WriteAsync(IAnsiConsole console, IEnumerable<TaskDescriptor> tasks, ITaskStore store, bool json, CancellationToken cancellationToken)
    {
        var rows = new List<(TaskDescriptor Task, bool Enabled)>();
        foreach (var task in tasks)
            rows.Add((task, (await store.GetTaskAsync(task.Name, cancellationToken)).Enabled));
        if (json)
        {
            console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(rows.Select(r => new
            {
                name = r.Task.Name,
                enabled = r.Enabled,
                schedule = r.Task.Schedule?.ToString(),
                timeoutSeconds = r.Task.Timeout.TotalSeconds,
                priority = r.Task.Priority,
                tags = r.Task.Tags.Order(StringComparer.Ordinal),
                description = r.Task.ShortDescription,
            }), TaskBusJson.Options));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).BorderColor(Color.Grey)
            .AddColumns("name", "enabled", "schedule", "timeout", "priority", "tags", "description");
        foreach (var (task, enabled) in rows)
        {
            table.AddRow(
                new Markup($"[bold]{Markup.Escape(task.Name)}[/]"),
                new Markup(enabled ? "[green]yes[/]" : "[red]no[/]"),
                new Text(task.Schedule?.ToString() ?? ""),
                new Text($"{task.Timeout.TotalSeconds:0.###}s"),
                new Text(task.Priority.ToWire()),
                new Text(string.Join(",", task.Tags.Order(StringComparer.Ordinal))),
                new Text(task.ShortDescription));
        }
        console.Write(table);
    }
}
