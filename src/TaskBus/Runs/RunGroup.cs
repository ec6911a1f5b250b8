namespace TaskBus.Runs;

/// <summary>The worker group of this host (<c>TaskBus:QueueName</c>): the group its events say their runs belong to.</summary>
internal sealed record RunGroup(string Queue);
