using TaskBus.Runs;

namespace TaskBus.Consuming;

/// <summary>How a run reached this worker.</summary>
/// <param name="Redelivered">The broker delivered its message before (a worker stopped or died with it).</param>
/// <param name="Reply">Who waits for the run's final event, if anyone: its next rounds keep the waiter.</param>
internal readonly record struct Delivery(bool Redelivered, RunReply? Reply);
