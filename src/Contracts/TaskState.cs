using System.Text.Json.Serialization;

namespace TaskBus.Contracts;

/// <summary>The state of a task run. Lower case (snake case) on the wire.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TaskState>))]
public enum TaskState
{
    /// <summary>Created, not yet queued.</summary>
    [JsonStringEnumMemberName("init")] Init,

    /// <summary>Published to the task queue.</summary>
    [JsonStringEnumMemberName("queued")] Queued,

    /// <summary>Picked up by a worker.</summary>
    [JsonStringEnumMemberName("running")] Running,

    /// <summary>Finished without error.</summary>
    [JsonStringEnumMemberName("success")] Success,

    /// <summary>Finished with an error or a timeout.</summary>
    [JsonStringEnumMemberName("failure")] Failure,

    /// <summary>Aborted by the task itself or because the task is disabled; never retried.</summary>
    [JsonStringEnumMemberName("aborted")] Aborted,

    /// <summary>Refused because the task's maximum concurrency was reached.</summary>
    [JsonStringEnumMemberName("rate_limited")] RateLimited,

    /// <summary>Cancelled by a worker shutdown after its grace period.</summary>
    [JsonStringEnumMemberName("interrupted")] Interrupted,
}
