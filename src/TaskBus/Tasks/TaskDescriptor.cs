using System.Collections.Frozen;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using TaskBus.Contracts;
using TaskBus.Serialization;

namespace TaskBus.Tasks;

/// <summary>Everything the engine knows of one task: its name, options, parameters type and implementation.</summary>
public sealed class TaskDescriptor
{
    private object? _defaults;
    // The JSON name and getter of each top-level double or float of the params record.
    private (string Name, Func<object, object?> Get)[]? _numbers;

    private TaskDescriptor(string name, Type paramsType, Type? taskType, TaskAttribute options)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("A task name cannot be empty.", nameof(name));
        if (options.TimeoutSeconds <= 0)
            throw new ArgumentException($"Task {name}: TimeoutSeconds must be positive, not {options.TimeoutSeconds}.", nameof(options));
        if (options.ExpiresSeconds < 0)
            throw new ArgumentException($"Task {name}: ExpiresSeconds cannot be negative, not {options.ExpiresSeconds}.", nameof(options));
        if (options.MaxConcurrency < 0)
            throw new ArgumentException($"Task {name}: MaxConcurrency cannot be negative, not {options.MaxConcurrency}.", nameof(options));
        // MassTransit names a message's exchange after its namespace and refuses one without: say so now, not at the first send.
        if (string.IsNullOrEmpty(paramsType.Namespace))
            throw new ArgumentException($"Task {name}: its params type {paramsType.Name} must be declared in a namespace (a message's name on the bus includes it).", nameof(paramsType));
        Name = name;
        ParamsType = paramsType;
        TaskType = taskType;
        Description = options.Description;
        Priority = options.Priority;
        Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        MaxConcurrency = options.MaxConcurrency;
        Tags = options.Tags.ToFrozenSet(StringComparer.Ordinal);
        Isolated = options.Isolated;
        Unique = options.Unique;
        Expires = options.ExpiresSeconds > 0 ? TimeSpan.FromSeconds(options.ExpiresSeconds) : null;
        if (taskType is not null)
            Invoker = (ITaskInvoker)Activator.CreateInstance(typeof(TaskInvoker<,>).MakeGenericType(taskType, paramsType))!;
    }

    /// <summary>The task name; the registry's key.</summary>
    public string Name { get; }

    /// <summary>What the task does.</summary>
    public string Description { get; }

    /// <summary>The first line of <see cref="Description"/>.</summary>
    public string ShortDescription => Description.Split('\n', 2)[0].Trim();

    /// <summary>The parameters record; also the task's message type on the bus.</summary>
    public Type ParamsType { get; }

    /// <summary>The class that runs the task, or null for a task this process only queues.</summary>
    public Type? TaskType { get; }

    /// <summary>Default priority of its runs.</summary>
    public TaskPriority Priority { get; }

    /// <summary>How long a run may take.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Runs of this task at once; 0 means no limit.</summary>
    public int MaxConcurrency { get; }

    /// <summary>True when its runs are unique by params (<see cref="TaskAttribute.Unique"/>).</summary>
    public bool Unique { get; }

    /// <summary>How long after it is queued a run may still start, or null for ever.</summary>
    public TimeSpan? Expires { get; }

    /// <summary>True when each run goes in a child process.</summary>
    public bool Isolated { get; }

    /// <summary>Environment variables for an isolated run's child process.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; private init; } = new Dictionary<string, string>();

    /// <summary>The task's tags.</summary>
    public IReadOnlySet<string> Tags { get; }

    /// <summary>When the task is queued periodically, or null.</summary>
    internal TaskSchedule? Schedule { get; private set; }

    /// <summary>Retry policy for failures, or null for none.</summary>
    public RetryPolicy? Retry { get; private set; }

    /// <summary>Re-queue policy when over <see cref="MaxConcurrency"/>, or null for none.</summary>
    public RetryPolicy? RateLimitRetry { get; private init; }

    internal ITaskInvoker? Invoker { get; }

    /// <summary>Describes a task class implementing <see cref="ITask{TParams}"/>, reading its attributes.</summary>
    /// <param name="taskType">The task class.</param>
    /// <param name="name">A name that overrides the declared one.</param>
    internal static TaskDescriptor FromTask(Type taskType, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(taskType);
        var interfaces = taskType.GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ITask<>))
            .ToArray();
        if (taskType.IsAbstract || interfaces.Length != 1)
            throw new ArgumentException($"{taskType.FullName} must be a concrete class implementing ITask<TParams> exactly once.", nameof(taskType));
        var paramsType = interfaces[0].GetGenericArguments()[0];
        var options = taskType.GetCustomAttribute<TaskAttribute>() ?? new TaskAttribute();
        var taskName = name ?? options.Name ?? DefaultName(paramsType);
        var every = taskType.GetCustomAttribute<EveryAttribute>();
        var cron = taskType.GetCustomAttribute<CronAttribute>();
        if (every is not null && cron is not null)
            throw new ArgumentException($"Task {taskName}: [Every] or [Cron], not both.", nameof(taskType));
        TaskSchedule? schedule;
        try
        {
            schedule = every?.ToSchedule() ?? (TaskSchedule?)cron?.ToSchedule();
        }
        catch (Exception ex) when (ex is ArgumentException or TimeZoneNotFoundException)
        {
            throw new ArgumentException($"Task {taskName}: invalid schedule: {ex.Message}", nameof(taskType), ex);
        }
        return new TaskDescriptor(taskName, paramsType, taskType, options)
        {
            Schedule = schedule,
            Retry = taskType.GetCustomAttributes<RetryAttribute>().FirstOrDefault(a => a is not RateLimitRetryAttribute)?.ToPolicy(),
            RateLimitRetry = taskType.GetCustomAttribute<RateLimitRetryAttribute>()?.ToPolicy(),
            Environment = taskType.GetCustomAttributes<TaskEnvAttribute>().ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal),
        };
    }

    /// <summary>Describes a task known only by its message type, so that this process can queue it.</summary>
    /// <param name="paramsType">The parameters record.</param>
    /// <param name="name">The task name; defaults to the snake-case name of the type.</param>
    internal static TaskDescriptor FromMessage(Type paramsType, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(paramsType);
        if (!paramsType.IsClass || paramsType.IsAbstract || paramsType.IsGenericTypeDefinition)
            throw new ArgumentException($"{paramsType.FullName} must be a concrete class or record.", nameof(paramsType));
        return new TaskDescriptor(name ?? DefaultName(paramsType), paramsType, null, new TaskAttribute());
    }

    /// <summary>The name a parameters type gives its task by default: <c>Add</c> → <c>add</c>, <c>SendEmail</c> → <c>send_email</c>.</summary>
    public static string DefaultName(Type paramsType)
    {
        ArgumentNullException.ThrowIfNull(paramsType);
        return JsonNamingPolicy.SnakeCaseLower.ConvertName(paramsType.Name);
    }

    /// <summary>
    /// Builds the parameters record from null (all defaults), the record itself, a JSON element or
    /// node, or a name→value map. Throws <see cref="TaskParamsException"/> when they do not fit.
    /// </summary>
    public object CreateParams(object? parameters)
    {
        if (parameters is not null && ParamsType.IsInstanceOfType(parameters))
            return Finite(parameters);
        // Params records are immutable, so the defaults are built once.
        if (parameters is null && _defaults is { } defaults)
            return defaults;
        try
        {
            var result = parameters switch
            {
                null => JsonSerializer.Deserialize("{}", ParamsType, TaskBusJson.Options),
                JsonElement element => element.Deserialize(ParamsType, TaskBusJson.Options),
                JsonNode node => node.Deserialize(ParamsType, TaskBusJson.Options),
                string json => JsonSerializer.Deserialize(json, ParamsType, TaskBusJson.Options),
                _ => JsonSerializer.SerializeToElement(parameters, TaskBusJson.Options).Deserialize(ParamsType, TaskBusJson.Options),
            };
            if (result is null)
                throw new TaskParamsException($"invalid params for task '{Name}': null");
            Finite(result);
            if (parameters is null)
                _defaults = result;
            return result;
        }
        catch (JsonException ex)
        {
            throw new TaskParamsException($"invalid params for task '{Name}': {Serialization.UserText.Json(ex)}", ex);
        }
    }

    /// <summary>
    /// The params, unless a number in them is not finite (JSON's <c>1e400</c> reads as infinity): JSON cannot carry
    /// it, so the run could never be sent, and the caller's input is what is wrong.
    /// </summary>
    private object Finite(object parameters)
    {
        _numbers ??= [.. TaskBusJson.Options.GetTypeInfo(ParamsType).Properties
            .Where(p => p.Get is not null && (Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType) is var t && (t == typeof(double) || t == typeof(float)))
            .Select(p => (p.Name, p.Get!))];
        foreach (var (name, get) in _numbers)
        {
            var value = get(parameters);
            if (value is double d && !double.IsFinite(d) || value is float f && !float.IsFinite(f))
                throw new TaskParamsException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"invalid params for task '{Name}': {name} is {value}, not a finite number"));
        }
        return parameters;
    }

    /// <summary>A copy of this task with another retry policy.</summary>
    internal TaskDescriptor WithRetry(RetryPolicy? retry)
    {
        var copy = (TaskDescriptor)MemberwiseClone();
        copy.Retry = retry;
        return copy;
    }

    /// <summary>A copy of this task with another schedule (or none); the overlap policy declared on the task stays.</summary>
    internal TaskDescriptor WithSchedule(TaskSchedule? schedule)
    {
        var copy = (TaskDescriptor)MemberwiseClone();
        copy.Schedule = schedule is not null && Schedule is { Overlap: var overlap } ? schedule with { Overlap = overlap } : schedule;
        return copy;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
