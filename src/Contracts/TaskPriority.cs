using System.Text.Json.Serialization;

namespace TaskBus.Contracts;

/// <summary>Queue priority of a task run: high runs before medium, medium before low.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TaskPriority>))]
public enum TaskPriority
{
    /// <summary>Consumed first.</summary>
    [JsonStringEnumMemberName("high")] High,

    /// <summary>The default.</summary>
    [JsonStringEnumMemberName("medium")] Medium,

    /// <summary>Consumed last.</summary>
    [JsonStringEnumMemberName("low")] Low,
}
