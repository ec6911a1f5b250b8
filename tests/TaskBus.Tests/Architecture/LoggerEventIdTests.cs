using System.Reflection;
using Microsoft.Extensions.Logging;

namespace TaskBus.Tests.Architecture;

/// <summary>Every log message of TaskBus's assemblies has an event id of its own: two messages under one id make log queries lie.</summary>
public sealed class LoggerEventIdTests
{
    private static readonly Assembly[] Assemblies =
    [
        typeof(TaskManager).Assembly,
        typeof(TaskBus.Http.TaskBusHttpExtensions).Assembly,
        typeof(TaskBus.CommandLine.CommandLineHost).Assembly,
        typeof(TaskBus.Worker.TaskTable).Assembly,
    ];

    [Fact]
    public void EveryLogMessage_HasAnEventIdNoOtherMessageHas()
    {
        var messages = Assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.FullName}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        Assert.True(messages.Count >= 28, $"only {messages.Count} log messages found");
        Assert.Empty(messages.Where(m => m.Attribute!.EventId == 0).Select(m => m.Method));
        var shared = messages.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}");
        Assert.Empty(shared);
    }
}
