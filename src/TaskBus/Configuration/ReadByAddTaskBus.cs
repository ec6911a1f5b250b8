namespace TaskBus.Configuration;

/// <summary>
/// Guards the settings <c>AddTaskBus</c> reads to decide which services exist: once it has read them, changing one
/// (in a <c>Configure&lt;TaskBusOptions&gt;</c> registered after it) throws at once, naming the key, instead of
/// leaving a host that runs on the old value while its options show the new one.
/// </summary>
internal sealed class ReadByAddTaskBus
{
    public bool Read { get; set; }

    /// <summary><paramref name="value"/>, unless it changes a setting already read.</summary>
    public T Set<T>(string key, T current, T value, bool show = true)
    {
        if (!Read || EqualityComparer<T>.Default.Equals(current, value))
            return value;
        // A connection string may hold a password: not shown.
        throw new InvalidOperationException($"TaskBus:{key}: {(show ? $"changed from '{current}' to '{value}'" : "changed")} after AddTaskBus had read it; "
            + "set it in configuration or in AddTaskBus's configure argument.");
    }
}
