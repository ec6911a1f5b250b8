using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using PublicApiGenerator;

namespace TaskBus.Tests.PublicApi;

/// <summary>
/// The public surface of each package, approved: a change shows as a diff of <c>*.approved.txt</c> in review.
/// When a change is intended, copy the received file the failure names over the approved one.
/// </summary>
public sealed class PublicApiTests
{
    private static readonly string[] PackageNames = ["TaskBus", "TaskBus.AspNetCore", "TaskBus.Contracts"];

    public static TheoryData<string> Packages() => new(PackageNames);

    // What `ImplicitUsings` brings into a console app and a web app.
    private static readonly string[] ImplicitNamespaces =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading",
        "System.Threading.Tasks", "System.Net.Http.Json", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Http", "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration",
        "Microsoft.Extensions.DependencyInjection", "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
    ];

    [Fact]
    public void PublicTypes_AreFewInAll_AndNoneIsASample()
    {
        var types = PackageNames.SelectMany(p => Load(p).GetExportedTypes()).ToList();

        // Each one is explained in PublicApi/README.md.
        Assert.InRange(types.Count, 1, 49);
        Assert.DoesNotContain(types, t => t.Namespace == "TaskBus.Contracts.Tasks");
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void PublicApi_IsTheApprovedOne(string package)
    {
        var api = Load(package).GeneratePublicApi(new ApiGeneratorOptions
        {
            // Build metadata, not surface: it changes with the commit.
            ExcludeAttributes = ["System.Reflection.AssemblyMetadataAttribute"],
        });
        var approved = Path.Combine(SourceDirectory(), $"{package}.approved.txt");
        if (File.Exists(approved) && File.ReadAllText(approved).ReplaceLineEndings() == api.ReplaceLineEndings())
            return;
        var received = Path.Combine(AppContext.BaseDirectory, "PublicApi", $"{package}.received.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(received)!);
        File.WriteAllText(received, api);
        Assert.Fail($"The public API of {package} changed. Review `diff {approved} {received}`; if intended, copy the received file over the approved one.");
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void NoPublicTypeName_CollidesWithATypeOfTheImplicitUsings(string package)
    {
        // Every public type the framework puts in those namespaces, read from the reference assemblies by Roslyn.
        var compilation = Compile("");
        var implicitTypes = ImplicitNamespaces
            .SelectMany(ns => Namespace(compilation.GlobalNamespace, ns)?.GetTypeMembers() ?? [])
            .Where(t => t.DeclaredAccessibility == Accessibility.Public && !t.ContainingAssembly.Name.StartsWith("TaskBus", StringComparison.Ordinal))
            .Select(t => t.Name)
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains("TaskScheduler", implicitTypes);

        var collisions = Load(package).GetExportedTypes().Where(t => !t.IsNested && implicitTypes.Contains(t.Name)).Select(t => t.FullName).ToList();

        Assert.True(collisions.Count == 0, $"{string.Join(", ", collisions)} share a name with a type every app imports");
    }

    [Fact]
    public void AConsumerWithImplicitUsingsAndEveryTaskBusNamespace_CompilesTaskSchedulerDefault()
    {
        var namespaces = PackageNames.SelectMany(p => Load(p).GetExportedTypes()).Select(t => t.Namespace!).Distinct().Order();
        var source = string.Concat(ImplicitNamespaces.Concat(namespaces).Select(ns => $"using {ns};\n")) + """
            public static class Consumer
            {
                public static Task Run(Action work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default);
            }
            """;

        var errors = Compile(source).GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();

        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    private static CSharpCompilation Compile(string source)
    {
        // The framework this test runs on (with ASP.NET Core, through TaskBus.AspNetCore) and TaskBus's assemblies.
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(PackageNames.Select(p => Load(p).Location))
            .Distinct(StringComparer.Ordinal)
            .Select(path => MetadataReference.CreateFromFile(path));
        return CSharpCompilation.Create("Consumer", [CSharpSyntaxTree.ParseText(source)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
    }

    private static INamespaceSymbol? Namespace(INamespaceSymbol root, string name)
    {
        var current = root;
        foreach (var part in name.Split('.'))
        {
            current = current.GetNamespaceMembers().FirstOrDefault(n => n.Name == part);
            if (current is null)
                return null;
        }
        return current;
    }

    private static Assembly Load(string package) => Assembly.Load(package);

    private static string SourceDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Bus.sln")))
            dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Bus.sln not found"), "tests", "TaskBus.Tests", "PublicApi");
    }
}
