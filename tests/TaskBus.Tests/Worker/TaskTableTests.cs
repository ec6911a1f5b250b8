using System.Text.Json;
using Spectre.Console.Testing;
using TaskBus.Storage;
using TaskBus.Worker;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Worker;

public sealed class TaskTableTests
{
    [Fact]
    public async Task Ls_ShowsEachTaskWithItsEnabledFlag_AndTheJsonArrayCarriesTheSame()
    {
        var store = new MemoryTaskStore();
        await store.SetEnabledAsync("add", false, CancellationToken.None);
        TaskDescriptor[] tasks = [TaskDescriptor.FromTask(typeof(AddTask)), TaskDescriptor.FromTask(typeof(PingTask))];

        var table = new TestConsole().Width(200);
        await TaskTable.WriteAsync(table, tasks, store, json: false, CancellationToken.None);
        var lines = table.Lines.Where(l => l.Contains('│', StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => l.Contains("add ", StringComparison.Ordinal) && l.Contains(" no ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("ping ", StringComparison.Ordinal) && l.Contains(" yes ", StringComparison.Ordinal) && l.Contains("every(0:00:02)", StringComparison.Ordinal));

        var json = new TestConsole();
        await TaskTable.WriteAsync(json, tasks, store, json: true, CancellationToken.None);
        var rows = JsonDocument.Parse(json.Output).RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!, r => r.GetProperty("enabled").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["add"] = false, ["ping"] = true }, rows);
    }
}
