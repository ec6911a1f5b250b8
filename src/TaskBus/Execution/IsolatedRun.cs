using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Serialization;
using TaskBus.Tasks;

namespace TaskBus.Execution;

/// <summary>
/// Runs one run of an isolated task in a child process of the worker binary: <c>exec &lt;task&gt;
/// --params JSON --run-id ID</c>, with the task's environment. The child's output goes to the log;
/// its last line, the final run as JSON, is the outcome. When the token is cancelled (timeout or
/// shutdown) the child gets SIGTERM, then SIGKILL 5 s later.
/// </summary>
internal static partial class IsolatedRun
{
    /// <summary>Set in the child, so it runs the task inline instead of starting another child.</summary>
    public const string ChildVariable = "TASKBUS_ISOLATED_CHILD";

    private static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(5);

    public static bool InChild => Environment.GetEnvironmentVariable(ChildVariable) == "1";

    public static async Task RunAsync(TaskDescriptor task, TaskRun run, ILogger logger, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Started as "dotnet Worker.dll": the child is too.
        if (Path.GetFileNameWithoutExtension(info.FileName) == "dotnet" && Assembly.GetEntryAssembly()?.Location is { Length: > 0 } entry)
            info.ArgumentList.Add(entry);
        foreach (var arg in new[] { "exec", task.Name, "--params", run.ParamsJson.GetRawText(), "--run-id", run.Id })
            info.ArgumentList.Add(arg);
        foreach (var (name, value) in task.Environment)
            info.Environment[name] = value;
        info.Environment[ChildVariable] = "1";

        using var child = Process.Start(info) ?? throw new InvalidOperationException($"could not start the child process of {run.NameId}");
        LogChildStarted(logger, run.Task, run.Id, child.Id);
        string? last = null;
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            last = e.Data;
            LogChildOutput(logger, run.Task, child.Id, e.Data);
        };
        child.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                LogChildOutput(logger, run.Task, child.Id, e.Data);
        };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            await child.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await StopAsync(child);
            LogChildStopped(logger, run.Task, run.Id, child.Id);
            throw;
        }
        await child.WaitForExitAsync(CancellationToken.None); // the output is drained
        var outcome = last is null ? null : TryRead(last);
        switch (outcome?.State)
        {
            case TaskState.Success:
                return;
            case TaskState.Aborted:
                throw new TaskAbortedException(outcome.Error ?? "aborted");
            default:
                throw new IsolatedTaskException(outcome?.Error
                    ?? string.Create(CultureInfo.InvariantCulture, $"IsolatedTaskException: child process exited with code {child.ExitCode}"));
        }
    }

    private static async Task StopAsync(Process child)
    {
        if (child.HasExited)
            return;
        using (var term = Process.Start("kill", ["-TERM", child.Id.ToString(CultureInfo.InvariantCulture)]))
            await term.WaitForExitAsync();
        using var grace = new CancellationTokenSource(KillAfter);
        try
        {
            await child.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }
    }

    private static TaskRunEvent? TryRead(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<TaskRunEvent>(line, TaskBusJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "{Task}.{RunId} runs in child process {Pid}")]
    private static partial void LogChildStarted(ILogger logger, string task, string runId, int pid);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Information, Message = "{Task}[{Pid}] {Line}")]
    private static partial void LogChildOutput(ILogger logger, string task, int pid, string line);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Warning, Message = "{Task}.{RunId}: child process {Pid} stopped")]
    private static partial void LogChildStopped(ILogger logger, string task, string runId, int pid);
}
