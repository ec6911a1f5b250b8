namespace TaskBus.Consuming;

/// <summary>What became of a consumed run.</summary>
internal enum ConsumeOutcome
{
    /// <summary>A second run of the same tick: dropped without events.</summary>
    Dropped,

    /// <summary>The run reached a final state.</summary>
    Finished,

    /// <summary>The run goes on in a new message: a retry, or a re-queue over the concurrency limit.</summary>
    Requeued,
}
