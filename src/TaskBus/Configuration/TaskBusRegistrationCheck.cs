using Microsoft.Extensions.Options;

namespace TaskBus;

/// <summary>
/// Refuses, at start, a change to a setting that <c>AddTaskBus</c> read to decide which services exist (a
/// <c>Configure&lt;TaskBusOptions&gt;</c> registered after it): the host would otherwise run on the old value while
/// <see cref="TaskManager.Options"/> shows the new one. Every other setting is read from the one bound options object.
/// </summary>
internal sealed class TaskBusRegistrationCheck(TaskBusOptions registered) : IValidateOptions<TaskBusOptions>
{
    public ValidateOptionsResult Validate(string? name, TaskBusOptions options)
    {
        var failures = new List<string>();
        void Same<T>(string key, T was, T now, bool show = true)
        {
            if (!EqualityComparer<T>.Default.Equals(was, now))
            {
                failures.Add($"TaskBus:{key}: {(show ? $"changed from '{was}' to '{now}'" : "changed")} after AddTaskBus had read it; "
                    + "set it in configuration or in AddTaskBus's configure argument.");
            }
        }
        Same("Transport", registered.Transport, options.Transport);
        Same("ConsumeTasks", registered.ConsumeTasks, options.ConsumeTasks);
        Same("ScheduleTasks", registered.ScheduleTasks, options.ScheduleTasks);
        Same("PublishEvents", registered.PublishEvents, options.PublishEvents);
        Same("QueueName", registered.QueueName, options.QueueName);
        Same("SchedulerCheckinInterval", registered.SchedulerCheckinInterval, options.SchedulerCheckinInterval);
        Same("Store:Provider", registered.Store.Provider, options.Store.Provider);
        // A connection string may hold a password: not shown.
        Same("Store:ConnectionString", registered.Store.ConnectionString, options.Store.ConnectionString, show: false);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
