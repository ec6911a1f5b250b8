using Microsoft.Extensions.Options;

namespace TaskBus.Configuration;

/// <summary>
/// Makes <see cref="IOptions{TaskBusOptions}"/> the very object <c>AddTaskBus</c> bound, once: every
/// <c>Configure&lt;TaskBusOptions&gt;</c> runs on it, then every validator, the first time it is asked for, so the
/// settings that decided the services and the settings every part reads are one object, bound and checked once.
/// IOptions and IOptionsMonitor each ask, and a second provider built from the same services asks again: the
/// setups run on the bound object only the first time (<see cref="TaskBusOptions.ConfigureOnce"/>).
/// </summary>
internal sealed class TaskBusOptionsFactory : IOptionsFactory<TaskBusOptions>
{
    private readonly BoundFactory _factory;
    private readonly TaskBusOptions _bound;

    public TaskBusOptionsFactory(
        TaskBusOptions bound, IEnumerable<IConfigureOptions<TaskBusOptions>> setups, IEnumerable<IPostConfigureOptions<TaskBusOptions>> postConfigures,
        IEnumerable<IValidateOptions<TaskBusOptions>> validations)
    {
        _factory = new BoundFactory(bound, setups, postConfigures, validations);
        _bound = bound;
    }

    public TaskBusOptions Create(string name) =>
        name == Options.DefaultName ? _bound.ConfigureOnce(() => _factory.Create(name)) : _factory.Create(name);

    private sealed class BoundFactory(
        TaskBusOptions bound, IEnumerable<IConfigureOptions<TaskBusOptions>> setups, IEnumerable<IPostConfigureOptions<TaskBusOptions>> postConfigures,
        IEnumerable<IValidateOptions<TaskBusOptions>> validations) : OptionsFactory<TaskBusOptions>(setups, postConfigures, validations)
    {
        protected override TaskBusOptions CreateInstance(string name) => name == Options.DefaultName ? bound : base.CreateInstance(name);
    }
}
