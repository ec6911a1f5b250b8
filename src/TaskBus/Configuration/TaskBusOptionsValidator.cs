using Microsoft.Extensions.Options;
using TaskBus.Tasks;

namespace TaskBus.Configuration;

/// <summary>
/// Checks <see cref="TaskBusOptions"/> once, when they are first read; each failure names the key and the bad value.
/// A <c>Schedules</c> or <c>Retries</c> key naming no task of <paramref name="registry"/> is a failure too: a typo, or a
/// task that was removed, would otherwise be ignored.
/// </summary>
internal sealed class TaskBusOptionsValidator(TaskRegistry registry) : IValidateOptions<TaskBusOptions>
{
    public ValidateOptionsResult Validate(string? name, TaskBusOptions options)
    {
        var failures = new List<string>();
        failures.AddRange(options.Schedules.Keys.Where(task => !registry.Contains(task)).Select(task => $"TaskBus:Schedules:{task}: no task is named {task}."));
        failures.AddRange(options.Retries.Keys.Where(task => !registry.Contains(task)).Select(task => $"TaskBus:Retries:{task}: no task is named {task}."));
        if (!Enum.IsDefined(options.Transport))
            failures.Add($"TaskBus:Transport: '{options.Transport}' is not InMemory or RabbitMQ.");
        if (options.Transport == TaskBusTransport.RabbitMQ
            && (!Uri.TryCreate(options.RabbitMQ.Url, UriKind.Absolute, out var url) || url.Scheme is not ("amqp" or "amqps")))
        {
            failures.Add($"TaskBus:RabbitMQ:Url: '{options.RabbitMQ.Url}' is not an amqp:// or amqps:// URL.");
        }
        if (options.RabbitMQ.PublishTimeout < TimeSpan.FromMilliseconds(100) || options.RabbitMQ.PublishTimeout > TimeSpan.FromMinutes(10))
            failures.Add($"TaskBus:RabbitMQ:PublishTimeout: {options.RabbitMQ.PublishTimeout} is not between 100 ms and 10 minutes.");
        if (!Enum.IsDefined(options.RabbitMQ.QueueType))
            failures.Add($"TaskBus:RabbitMQ:QueueType: '{options.RabbitMQ.QueueType}' is not Classic or Quorum.");
        if (options.RabbitMQ.Shards is < 1 or > 64)
            failures.Add($"TaskBus:RabbitMQ:Shards: {options.RabbitMQ.Shards} is not between 1 and 64.");
        if (options.RabbitMQ.DeliveryLimit < 1)
            failures.Add($"TaskBus:RabbitMQ:DeliveryLimit: {options.RabbitMQ.DeliveryLimit} is not positive.");
        if (options.RabbitMQ.ReplicationFactor is < 1 or > 99)
            failures.Add($"TaskBus:RabbitMQ:ReplicationFactor: {options.RabbitMQ.ReplicationFactor} is not between 1 and 99.");
        foreach (var node in options.RabbitMQ.NodeList())
        {
            if (!Uri.TryCreate($"amqp://{node}/", UriKind.Absolute, out var nodeUrl) || nodeUrl.AbsolutePath != "/" || nodeUrl.UserInfo.Length > 0)
                failures.Add($"TaskBus:RabbitMQ:Nodes: '{node}' is not host or host:port.");
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
                TaskSchedule.Parse(schedule);
            }
            catch (ArgumentException ex)
            {
                failures.Add($"TaskBus:Schedules:{task}: {ex.Message}");
            }
        }
        if (!Enum.IsDefined(options.Store.Provider))
            failures.Add($"TaskBus:Store:Provider: '{options.Store.Provider}' is not Memory or PostgreSQL.");
        if (options.Store.Provider == TaskStoreProvider.PostgreSQL && string.IsNullOrWhiteSpace(options.Store.ConnectionString))
            failures.Add("TaskBus:Store:ConnectionString: required when the provider is PostgreSQL.");
        if (options.Store.Retention is { } retention && retention < TimeSpan.FromMinutes(1))
            failures.Add($"TaskBus:Store:Retention: {retention} is shorter than a minute; leave it unset to keep the history.");
        if (options.Store.FailureRetention is { } failureRetention && failureRetention < TimeSpan.FromMinutes(1))
            failures.Add($"TaskBus:Store:FailureRetention: {failureRetention} is shorter than a minute.");
        if (options.Store.PruneInterval < TimeSpan.FromSeconds(1) || options.Store.PruneInterval > TimeSpan.FromDays(1))
            failures.Add($"TaskBus:Store:PruneInterval: {options.Store.PruneInterval} is not between 1 s and a day.");
        if (options.Store.PruneBatch is < 1 or > 100_000)
            failures.Add($"TaskBus:Store:PruneBatch: {options.Store.PruneBatch} is not between 1 and 100000.");
        foreach (var (task, retry) in options.Retries)
        {
            if (retry.Wait < TimeSpan.Zero)
                failures.Add($"TaskBus:Retries:{task}:Wait: {retry.Wait} is negative.");
            if (retry.MaxWait < TimeSpan.Zero)
                failures.Add($"TaskBus:Retries:{task}:MaxWait: {retry.MaxWait} is negative.");
            if (retry.Wait is { } wait && retry.MaxWait is { } maxWait && maxWait < wait)
                failures.Add($"TaskBus:Retries:{task}:MaxWait: {maxWait} is below Wait ({wait}).");
            if (retry.Backoff is { } backoff && (double.IsNaN(backoff) || backoff < 1 || backoff > 100))
                failures.Add($"TaskBus:Retries:{task}:Backoff: {backoff.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not between 1 and 100.");
        }
        if (options.Http.Urls.Split([';', ',', ' '], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(u => !Uri.TryCreate(u, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")) is { } badUrl)
            failures.Add($"TaskBus:Http:Urls: '{badUrl}' is not an http:// or https:// URL.");
        if (options.Http.MaxRequestBodySize < 1)
            failures.Add($"TaskBus:Http:MaxRequestBodySize: {options.Http.MaxRequestBodySize} is not a positive number of bytes.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
