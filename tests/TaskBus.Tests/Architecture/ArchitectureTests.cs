using ArchUnitNET.Domain;
using ArchUnitNET.Domain.Dependencies;
using ArchUnitNET.Loader;
using TaskBus.Client;
using TaskBus.Runs;

namespace TaskBus.Tests.Architecture;

/// <summary>
/// The shape of the engine (docs/architecture.md): each folder of <c>src/TaskBus</c> is a namespace, and a folder uses
/// only the folders below it, so the path of a run reads in one direction; one owner changes a run's state; services
/// are looked up only where the engine is composed and where a run's own scope resolves its task.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>What each folder may use besides itself, lowest first; the root (<c>TaskBus</c>) composes them all.</summary>
    private static readonly Dictionary<string, string[]> Uses = new(StringComparer.Ordinal)
    {
        ["Serialization"] = [],
        ["Tasks"] = ["Serialization"],
        ["Configuration"] = ["Tasks", "Serialization"],
        ["Runs"] = ["Tasks", "Serialization"],
        ["Storage"] = ["Runs", "Configuration", "Tasks", "Serialization"],
        ["Execution"] = ["Storage", "Runs", "Configuration", "Tasks", "Serialization"],
        ["Client"] = ["Execution", "Storage", "Runs", "Configuration", "Tasks", "Serialization"],
        ["Consuming"] = ["Execution", "Storage", "Runs", "Configuration", "Tasks", "Serialization"],
        ["Diagnostics"] = ["Client", "Storage", "Runs", "Configuration", "Tasks", "Serialization"],
        ["MassTransit"] = ["Diagnostics", "Client", "Consuming", "Execution", "Storage", "Runs", "Configuration", "Tasks", "Serialization"],
        ["RabbitMq"] = ["MassTransit", "Client", "Consuming", "Runs", "Configuration", "Tasks", "Serialization"],
        ["Postgres"] = ["Storage", "Runs", "Configuration", "Tasks", "Serialization"],
        ["Scheduling"] = ["Client", "Storage", "Runs", "Configuration", "Tasks", "Serialization"],
    };

    private const string EngineAssembly = "TaskBus";

    private static readonly Lazy<ArchUnitNET.Domain.Architecture> Engine = new(() => new ArchLoader()
        .LoadAssemblies(typeof(TaskManager).Assembly, typeof(TaskBus.Http.TaskBusHttpExtensions).Assembly, typeof(TaskBus.CommandLine.CommandLineHost).Assembly, typeof(TaskBus.Worker.TaskTable).Assembly)
        .Build());

    [Fact]
    public void EveryFileOfTheEngine_DeclaresTheNamespaceOfItsFolder()
    {
        var root = Path.Combine(RepositoryRoot(), "src", "TaskBus");
        var wrong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file);
            if (relative.StartsWith("obj", StringComparison.Ordinal) || relative.StartsWith("bin", StringComparison.Ordinal))
                continue;
            var folder = Path.GetDirectoryName(relative)!.Replace(Path.DirectorySeparatorChar, '.');
            var expected = folder.Length == 0 ? "TaskBus" : $"TaskBus.{folder}";
            var declared = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("namespace ", StringComparison.Ordinal))?["namespace ".Length..].TrimEnd(';');
            if (declared != expected)
                wrong.Add($"{relative}: namespace {declared}, folder {expected}");
        }

        Assert.Empty(wrong);
    }

    [Fact]
    public void EveryFolderOfTheEngine_HasARule()
    {
        var folders = EngineTypes().Select(t => Folder(t)).Where(f => f.Length > 0).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(Uses.Keys.Order(StringComparer.Ordinal), folders.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AFolder_UsesOnlyTheFoldersBelowIt()
    {
        var wrong = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in EngineTypes())
        {
            var from = Folder(type);
            if (from.Length == 0)
                continue;
            foreach (var target in type.Dependencies.Select(d => d.Target).Where(IsEngine))
            {
                var to = Folder(target);
                if (to != from && !Uses[from].Contains(to, StringComparer.Ordinal))
                    wrong.Add($"{type.FullName} ({Show(from)}) uses {target.FullName} ({Show(to)})");
            }
        }

        Assert.Empty(wrong);
    }

    [Fact]
    public void OnlyTheLifecycle_ChangesARunsState_AndOnlyTheFactory_BuildsARun()
    {
        var wrong = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var call in Calls().Where(c => c.Target.FullName == typeof(TaskRun).FullName))
        {
            var caller = call.Origin.FullName;
            var member = call.TargetMember.Name;
            var allowed = member.StartsWith(".ctor", StringComparison.Ordinal) || member.StartsWith("set_", StringComparison.Ordinal)
                ? typeof(RunFactory).FullName
                : member.StartsWith("Enter(", StringComparison.Ordinal) || member.StartsWith("Adopt(", StringComparison.Ordinal)
                    ? typeof(RunLifecycle).FullName
                    : null;
            if (allowed is not null && caller != allowed && caller != typeof(TaskRun).FullName)
                wrong.Add($"{caller} calls TaskRun.{member}");
        }

        Assert.Empty(wrong);
    }

    [Fact]
    public void Services_AreLookedUp_OnlyWhereTheEngineIsComposed_AndWhereARunsScopeResolvesItsTask()
    {
        string[] allowed =
        [
            "TaskBus.TaskBusHostingExtensions",
            "TaskBus.Tasks.TaskInvoker",
            "TaskBus.Execution.TaskExecutor",
        ];
        var wrong = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var call in Calls().Where(c => c.Origin.Assembly.Name == EngineAssembly))
        {
            var target = call.Target.FullName;
            // Creating a run's scope is not a lookup; resolving from a provider is.
            var lookup = (target is "System.IServiceProvider" or "Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions"
                    || target.StartsWith("Microsoft.Extensions.DependencyInjection.ServiceProviderKeyedServiceExtensions", StringComparison.Ordinal))
                && call.TargetMember.Name.StartsWith("Get", StringComparison.Ordinal);
            var caller = call.Origin.FullName;
            if (lookup && !allowed.Any(a => caller.StartsWith(a, StringComparison.Ordinal)))
                wrong.Add($"{caller} calls {target}.{call.TargetMember.Name}");
        }

        Assert.Empty(wrong);
    }

    [Fact]
    public void TheRules_CanFail()
    {
        // A call back into a folder already passed, and a state change outside the owner, are what the rules catch.
        Assert.DoesNotContain("Client", Uses["Consuming"]);
        Assert.DoesNotContain("Consuming", Uses["Client"]);
        Assert.Contains(Calls(), c => c.Origin.FullName == typeof(RunLifecycle).FullName && c.TargetMember.Name.StartsWith("Enter(", StringComparison.Ordinal));
        Assert.Contains(EngineTypes(), t => Folder(t) == "Consuming" && t.Dependencies.Any(d => IsEngine(d.Target) && Folder(d.Target) == "Execution"));
    }

    private static IEnumerable<IType> EngineTypes() => Engine.Value.Types.Where(t => t.Assembly.Name == EngineAssembly && IsEngine(t));

    private static IEnumerable<MethodCallDependency> Calls() =>
        Engine.Value.MethodMembers.SelectMany(m => m.MemberDependencies.OfType<MethodCallDependency>());

    // A generic parameter or a tuple's element has no assembly or namespace of its own.
    private static bool IsEngine(IType type) => type.Assembly?.Name == EngineAssembly && type.Namespace is { } ns
        && (ns.FullName == "TaskBus" || ns.FullName.StartsWith("TaskBus.", StringComparison.Ordinal));

    /// <summary>The folder of <c>src/TaskBus</c> a type lives in: the namespace below <c>TaskBus</c>; empty for the root.</summary>
    private static string Folder(IType type) => type.Namespace.FullName == "TaskBus" ? "" : type.Namespace.FullName["TaskBus.".Length..].Split('.')[0];

    private static string Show(string folder) => folder.Length == 0 ? "the root" : folder + "/";

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Bus.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Bus.sln not found above the test binaries");
    }
}
