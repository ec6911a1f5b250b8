using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>
/// The packages as a user gets them: packed into a folder, referenced by a fresh console app from that folder
/// only, a task registered and run on the embedded default. In the serial collection: it builds, and the
/// machine has two cores the timing-sensitive tests need.
/// </summary>
[Collection(Support.RabbitMqCollection.Name)]
public sealed class PackageTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string Root = FindRoot();
    private readonly string _dir = Directory.CreateTempSubdirectory("taskbus-pkg-").FullName;
    private readonly string _version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    [Fact]
    public async Task PackedPackages_RunATaskInAFreshConsoleApp_WithoutAspNetCore()
    {
        var feed = Path.Combine(_dir, "feed");
        foreach (var project in new[] { "src/Contracts/TaskBus.Contracts.csproj", "src/TaskBus/TaskBus.csproj", "src/TaskBus.AspNetCore/TaskBus.AspNetCore.csproj" })
            await DotnetAsync(Root, "pack", Path.Combine(Root, project), "-c", "Release", "-o", feed, $"-p:Version={_version}", "--nologo");
        var packages = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([$"TaskBus.{_version}.nupkg", $"TaskBus.AspNetCore.{_version}.nupkg", $"TaskBus.Contracts.{_version}.nupkg"], packages);

        var app = Path.Combine(_dir, "app");
        Directory.CreateDirectory(app);
        // TaskBus packages come from the folder only; everything else from nuget.org.
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="TaskBus" /><package pattern="TaskBus.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TaskBus" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using Microsoft.Extensions.DependencyInjection;
            using Microsoft.Extensions.Hosting;
            using Microsoft.Extensions.Logging;
            using Hello;
            using TaskBus;
            using TaskBus.Client;
            using TaskBus.Tasks;

            var builder = Host.CreateApplicationBuilder(args);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.AddTaskBus().AddTask<GreetTask>();
            using var host = builder.Build();
            await host.StartAsync();
            var manager = host.Services.GetRequiredService<TaskManager>();
            var run = await manager.QueueAndWaitAsync("greet", new Greet { Name = "packages" }, TimeSpan.FromSeconds(30));
            Console.WriteLine($"run {run.Task} {run.State.ToString().ToLowerInvariant()}");
            await host.StopAsync();

            namespace Hello
            {
            public sealed record Greet
            {
                public required string Name { get; init; }
            }

            [Task("greet", Description = "Says hello")]
            public sealed class GreetTask : ITask<Greet>
            {
                public Task ExecuteAsync(Greet parameters, CancellationToken cancellationToken)
                {
                    Console.WriteLine($"Hello, {parameters.Name}!");
                    return Task.CompletedTask;
                }
            }
            }
            """);

        var run = await DotnetAsync(app, "run", "--nologo");
        Assert.Contains("Hello, packages!", run, StringComparison.Ordinal);
        Assert.Contains("run greet success", run, StringComparison.Ordinal);
        // The engine does not bring ASP.NET Core: the app runs on the base framework alone.
        var runtimeConfig = JsonDocument.Parse(await File.ReadAllTextAsync(Directory.GetFiles(Path.Combine(app, "bin"), "app.runtimeconfig.json", SearchOption.AllDirectories).Single()));
        var framework = runtimeConfig.RootElement.GetProperty("runtimeOptions").GetProperty("framework").GetProperty("name").GetString();
        Assert.Equal("Microsoft.NETCore.App", framework);
        Assert.False(runtimeConfig.RootElement.GetProperty("runtimeOptions").TryGetProperty("frameworks", out _));
    }

    private async Task<string> DotnetAsync(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", args)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // Not the test host's own build settings.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment.Remove("MSBuildSDKsPath");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await stdout + await stderr;
        output.WriteLine($"dotnet {string.Join(' ', args)}: exit {process.ExitCode}");
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed:\n{text}");
        return text;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Bus.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Bus.sln not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        // The packed version is this run's own: leave nothing of it in the machine's package cache.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in new[] { "taskbus", "taskbus.contracts", "taskbus.aspnetcore" })
        {
            var path = Path.Combine(cache, id, _version);
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
        }
    }
}
