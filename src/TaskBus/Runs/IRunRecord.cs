namespace TaskBus.Runs;

/// <summary>
/// The durable record of runs shared by every worker (the store writer, with the PostgreSQL store). A run's message
/// is acknowledged only once its final state is in it, so a worker killed right after a run ended does not lose the
/// run's record: either it was written, or the message is delivered again. Events are notifications and are not
/// waited for; the memory store dies with its process, so it is no record to wait for.
/// </summary>
internal interface IRunRecord
{
    /// <summary>Completes once every change made before the call was written (or given up on).</summary>
    Task FlushAsync();
}
