namespace TaskBus.Tasks;

/// <summary>What a tick of a periodic task does while the task's previous run is still queued or running.</summary>
public enum OverlapPolicy
{
    /// <summary>It queues its run all the same: runs of the task may overlap.</summary>
    AllowAll,

    /// <summary>It queues nothing (logged and counted as skipped): never two runs of the task at once from its schedule.</summary>
    Skip,
}
