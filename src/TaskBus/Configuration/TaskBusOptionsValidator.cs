using Microsoft.Extensions.Options;

namespace TaskBus;

/// <summary>Checks <see cref="TaskBusOptions"/> at start; each failure names the key and the bad value.</summary>
internal sealed class TaskBusOptionsValidator : IValidateOptions<TaskBusOptions>
{
    public ValidateOptionsResult Validate(string? name, TaskBusOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Transport))
            failures.Add($"TaskBus:Transport: '{options.Transport}' is not InMemory or RabbitMQ.");
        if (options.Transport == TaskBusTransport.RabbitMQ
            && (!Uri.TryCreate(options.RabbitMQ.Url, UriKind.Absolute, out var url) || url.Scheme is not ("amqp" or "amqps")))
        {
            failures.Add($"TaskBus:RabbitMQ:Url: '{options.RabbitMQ.Url}' is not an amqp:// or amqps:// URL.");
        }
        if (string.IsNullOrWhiteSpace(options.QueueName))
            failures.Add("TaskBus:QueueName: cannot be empty.");
        if (options.MaxConcurrentTasks is < 1 or > 1000)
            failures.Add($"TaskBus:MaxConcurrentTasks: {options.MaxConcurrentTasks} is not between 1 and 1000.");
        if (options.ExtraPrefetch is < 0 or > 1000)
            failures.Add($"TaskBus:ExtraPrefetch: {options.ExtraPrefetch} is not between 0 and 1000.");
        if (options.StoppingGracePeriod < TimeSpan.Zero)
            failures.Add($"TaskBus:StoppingGracePeriod: {options.StoppingGracePeriod} is negative.");
        if (options.StartTimeout <= TimeSpan.Zero)
            failures.Add($"TaskBus:StartTimeout: {options.StartTimeout} is not positive.");
        if (options.SchedulerCheckinInterval <= TimeSpan.Zero)
            failures.Add($"TaskBus:SchedulerCheckinInterval: {options.SchedulerCheckinInterval} is not positive.");
        foreach (var (task, schedule) in options.Schedules)
        {
            try
            {
                Scheduling.TaskSchedule.Parse(schedule);
            }
            catch (ArgumentException ex)
            {
                failures.Add($"TaskBus:Schedules:{task}: {ex.Message}");
            }
        }
        if (options.Store.Provider is not ("Memory" or "PostgreSQL"))
            failures.Add($"TaskBus:Store:Provider: '{options.Store.Provider}' is not Memory or PostgreSQL.");
        if (options.Store.Provider == "PostgreSQL" && string.IsNullOrWhiteSpace(options.Store.ConnectionString))
            failures.Add("TaskBus:Store:ConnectionString: required when the provider is PostgreSQL.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
