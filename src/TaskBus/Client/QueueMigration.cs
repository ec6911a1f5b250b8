namespace TaskBus.Client;

/// <summary>What moving a worker group to the layout of the settings did (<see cref="TaskManager.MigrateQueuesAsync"/>).</summary>
/// <param name="Layout">The layout the group is now in, for example "Quorum, 3 shards".</param>
/// <param name="Moved">Runs moved, by the queue they waited in.</param>
/// <param name="Deleted">The old layout's queues, deleted once empty.</param>
/// <param name="Left">Old queues still there (runs kept arriving from a process of the old layout): run it again once those stopped.</param>
public sealed record QueueMigration(string Layout, IReadOnlyDictionary<string, long> Moved, IReadOnlyList<string> Deleted, IReadOnlyList<string> Left);
