using System.Globalization;
using TaskBus.Contracts.Tasks;
using TaskBus.Execution;
using TaskBus.Tasks;

namespace TaskBus.Worker.Tasks;

/// <summary>
/// Awaits a delay: I/O-bound work, for scale-out. A sleep of more than a second reports its progress once a second,
/// so the dashboard, <c>watch</c> and any consumer of <c>TaskRunProgress</c> have something to show out of the box.
/// </summary>
[Task("sleep", Description = "Awaits a delay of ms milliseconds, reporting progress each second")]
public sealed class SleepTask(TaskRunContext context) : ITask<Sleep>
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(1);

    public async Task ExecuteAsync(Sleep parameters, CancellationToken cancellationToken)
    {
        var total = TimeSpan.FromMilliseconds(parameters.Ms);
        var slept = TimeSpan.Zero;
        while (total - slept > Step)
        {
            await Task.Delay(Step, cancellationToken);
            slept += Step;
            await context.ReportProgressAsync(slept / total, string.Create(CultureInfo.InvariantCulture, $"{slept.TotalSeconds:0} of {total.TotalSeconds:0.#} s"), cancellationToken);
        }
        await Task.Delay(total - slept, cancellationToken);
    }
}
