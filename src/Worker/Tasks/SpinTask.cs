using System.Diagnostics;
using TaskBus.Contracts.Tasks;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>Spins on the CPU and ignores its token: only process isolation stops it at its timeout.</summary>
[Task("spin", Description = "Spins on the CPU, ignoring cancellation; isolated in a child process", Isolated = true, TimeoutSeconds = 2, Tags = ["cpu"])]
[TaskEnv("TASKBUS_SAMPLE", "spin")]
public sealed class SpinTask : ITask<Spin>
{
    public Task ExecuteAsync(Spin parameters, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var spins = 0L;
        while (clock.Elapsed.TotalSeconds < parameters.Seconds)
            spins++;
        Console.WriteLine($"spun {spins} times in {clock.Elapsed.TotalSeconds:0.0} s ({Environment.GetEnvironmentVariable("TASKBUS_SAMPLE")})");
        return Task.CompletedTask;
    }
}
