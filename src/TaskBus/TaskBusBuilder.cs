using System.Reflection;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using TaskBus.Tasks;

namespace TaskBus;

/// <summary>Registers tasks with TaskBus; returned by <c>AddTaskBus</c> for chaining.</summary>
public sealed class TaskBusBuilder
{
    internal TaskBusBuilder(IServiceCollection services, TaskRegistry registry)
    {
        Services = services;
        Registry = registry;
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The registry being filled.</summary>
    public TaskRegistry Registry { get; }

    internal List<Action<IBusRegistrationContext, IBusFactoryConfigurator>> BusConfigurations { get; } = [];

    /// <summary>Adds to the bus configuration, e.g. a receive endpoint of the application's own; runs when the bus is created.</summary>
    public TaskBusBuilder ConfigureBus(Action<IBusRegistrationContext, IBusFactoryConfigurator> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        BusConfigurations.Add(configure);
        return this;
    }

    /// <summary>Registers one task class. A duplicate name throws <see cref="InvalidOperationException"/>.</summary>
    public TaskBusBuilder AddTask<TTask>(string? name = null)
        where TTask : class => AddTask(typeof(TTask), name);

    /// <summary>Registers one task class. A duplicate name throws <see cref="InvalidOperationException"/>.</summary>
    public TaskBusBuilder AddTask(Type taskType, string? name = null)
    {
        var task = TaskDescriptor.FromTask(taskType, name);
        Registry.Add(task);
        task.Invoker!.Register(Services);
        return this;
    }

    /// <summary>Registers every concrete <see cref="ITask{TParams}"/> class of an assembly (aio-fluid's <c>register_from_module</c>).</summary>
    public TaskBusBuilder AddTasksFromAssembly(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var type in assembly.GetTypes().Where(IsTaskClass).OrderBy(t => t.FullName, StringComparer.Ordinal))
            AddTask(type);
        return this;
    }

    /// <summary>Registers tasks from a name→task class map; each key is the task's name (aio-fluid's <c>register_from_dict</c>).</summary>
    public TaskBusBuilder AddTasks(IEnumerable<KeyValuePair<string, Type>> tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        foreach (var (name, type) in tasks)
            AddTask(type, name);
        return this;
    }

    /// <summary>Declares a task this process queues but does not run, by its parameters type.</summary>
    public TaskBusBuilder AddTaskMessage<TParams>(string? name = null)
        where TParams : class
    {
        Registry.Add(TaskDescriptor.FromMessage(typeof(TParams), name));
        return this;
    }

    /// <summary>Declares as queue-only tasks every public record of an assembly in one namespace (a contracts assembly).</summary>
    public TaskBusBuilder AddTaskMessagesFromNamespace(Assembly assembly, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var type in assembly.GetExportedTypes().Where(t => t.Namespace == @namespace && t.IsClass && !t.IsAbstract))
        {
            if (!Registry.TryGet(type, out _))
                Registry.Add(TaskDescriptor.FromMessage(type));
        }
        return this;
    }

    private static bool IsTaskClass(Type type) =>
        type is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false }
        && type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ITask<>));
}
