using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TaskBus;

/// <summary>A consumer that also queues scheduled tasks periodically (aio-fluid's <c>TaskScheduler</c>).</summary>
public class TaskScheduler : TaskConsumer
{
    /// <summary>Creates a scheduler over a registry.</summary>
    public TaskScheduler(TaskRegistry registry, IServiceProvider services, IOptions<TaskBusOptions> options, TimeProvider? time = null, ILoggerFactory? loggers = null)
        : base(registry, services, options, time, loggers)
    {
    }

    /// <inheritdoc />
    public override string Type => "task_scheduler";
}
