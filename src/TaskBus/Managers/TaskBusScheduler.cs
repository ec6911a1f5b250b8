using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TaskBus;

/// <summary>
/// A consumer that also queues scheduled tasks periodically: aio-fluid's <c>TaskScheduler</c>, named so it never
/// collides with <see cref="System.Threading.Tasks.TaskScheduler"/> under implicit usings.
/// </summary>
public class TaskBusScheduler : TaskConsumer
{
    /// <summary>Creates a scheduler over a registry.</summary>
    public TaskBusScheduler(TaskRegistry registry, IServiceProvider services, IOptions<TaskBusOptions> options, TimeProvider? time = null, ILoggerFactory? loggers = null)
        : base(registry, services, options, time, loggers)
    {
    }

    /// <inheritdoc />
    public override string Type => "task_scheduler";
}
