using System.Text.Json;
using System.Text.Json.Serialization;

namespace TaskBus.Serialization;

/// <summary>The JSON settings of TaskBus's own documents: camelCase, enums as their wire names, unknown params rejected.</summary>
public static class TaskBusJson
{
    /// <summary>Options for task params and TaskRun documents.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        PropertyNameCaseInsensitive = true,
    };
}
