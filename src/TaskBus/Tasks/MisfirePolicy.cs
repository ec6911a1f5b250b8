namespace TaskBus.Tasks;

/// <summary>What a schedule does about ticks that passed while no scheduler ran.</summary>
public enum MisfirePolicy
{
    /// <summary>Skip them and wait for the next tick, as aio-fluid does. The default.</summary>
    Skip,

    /// <summary>Fire once on recovery, then keep to the schedule.</summary>
    FireOnce,
}
