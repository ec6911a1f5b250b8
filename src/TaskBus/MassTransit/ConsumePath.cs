using TaskBus.Consuming;
using TaskBus.Runs;

namespace TaskBus.MassTransit;

/// <summary>What every task message consumer hands its run to.</summary>
/// <param name="Lifecycle">Rebuilds the run from its message and records it.</param>
/// <param name="Processor">Takes the run to its outcome.</param>
internal sealed record ConsumePath(RunLifecycle Lifecycle, RunProcessor Processor);
