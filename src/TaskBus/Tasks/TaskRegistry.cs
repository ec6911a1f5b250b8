using System.Collections;

namespace TaskBus.Tasks;

/// <summary>The tasks a manager knows, by name and by parameters type. Names and message types are unique.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1710", Justification = "aio-fluid calls it the registry.")]
public sealed class TaskRegistry : IReadOnlyCollection<TaskDescriptor>
{
    private readonly Dictionary<string, TaskDescriptor> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, TaskDescriptor> _byParams = [];

    // Filled through TaskBusBuilder, then by the configuration's schedules and retries.
    internal TaskRegistry()
    {
    }

    /// <inheritdoc />
    public int Count => _byName.Count;

    /// <summary>Adds a task. A name or parameters type registered twice throws <see cref="InvalidOperationException"/>.</summary>
    internal void Add(TaskDescriptor task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (_byName.TryGetValue(task.Name, out var existing))
        {
            throw new InvalidOperationException(
                $"Task name '{task.Name}' is registered twice: by {Describe(existing)} and by {Describe(task)}.");
        }
        if (_byParams.TryGetValue(task.ParamsType, out existing))
        {
            throw new InvalidOperationException(
                $"Tasks '{existing.Name}' and '{task.Name}' both take {task.ParamsType.FullName}; each task needs its own parameters type, which is its message type on the bus.");
        }
        _byName.Add(task.Name, task);
        _byParams.Add(task.ParamsType, task);
    }

    /// <summary>Replaces a registered task by a changed copy of it (same name and parameters type).</summary>
    internal void Replace(TaskDescriptor task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!_byName.TryGetValue(task.Name, out var existing) || existing.ParamsType != task.ParamsType)
            throw new InvalidOperationException($"Task {task.Name} is not registered with {task.ParamsType.FullName}.");
        _byName[task.Name] = task;
        _byParams[task.ParamsType] = task;
    }

    /// <summary>The task of that name; throws <see cref="UnknownTaskException"/> if none.</summary>
    public TaskDescriptor Get(string name) =>
        _byName.TryGetValue(name, out var task) ? task : throw new UnknownTaskException(name);

    /// <summary>Finds a task by name.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskDescriptor? task) =>
        _byName.TryGetValue(name, out task);

    /// <summary>Finds a task by its parameters (message) type.</summary>
    public bool TryGet(Type paramsType, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskDescriptor? task) =>
        _byParams.TryGetValue(paramsType, out task);

    /// <summary>True if a task has that name.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <inheritdoc />
    public IEnumerator<TaskDescriptor> GetEnumerator() => _byName.Values.OrderBy(t => t.Name, StringComparer.Ordinal).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static string Describe(TaskDescriptor task) => task.TaskType?.FullName ?? task.ParamsType.FullName ?? task.Name;
}
