namespace TaskBus.Runs;

/// <summary>This process as a worker.</summary>
internal static class ThisWorker
{
    /// <summary><c>host-pid</c>: the <c>worker</c> of the events this process makes.</summary>
    public static string Name { get; } = $"{Environment.MachineName}-{Environment.ProcessId}";
}
