using TaskBus.Contracts;

namespace TaskBus.Tasks;

/// <summary>Declares a task's options on its class.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class TaskAttribute : Attribute
{
    /// <summary>Options for a task named after its parameters type (snake case: <c>Add</c> → <c>add</c>).</summary>
    public TaskAttribute()
    {
    }

    /// <summary>Options for a task with the given name.</summary>
    public TaskAttribute(string name) => Name = name;

    /// <summary>The task name. Defaults to the snake-case name of the parameters type.</summary>
    public string? Name { get; }

    /// <summary>What the task does; its first line is the short description. Defaults to empty.</summary>
    public string Description { get; set; } = "";

    /// <summary>Default priority of its runs. Defaults to <see cref="TaskPriority.Medium"/>.</summary>
    public TaskPriority Priority { get; set; } = TaskPriority.Medium;

    /// <summary>Seconds a run may take before it is cancelled and ends <c>failure</c>. Defaults to 60.</summary>
    public double TimeoutSeconds { get; set; } = 60;

    /// <summary>Runs of this task at once; 0 means no limit. Defaults to 0.</summary>
    public int MaxConcurrency { get; set; }

    /// <summary>
    /// Run each run in a child process of the worker binary (aio-fluid's <c>cpu_bound</c>): CPU-bound code that
    /// ignores its cancellation token is still stopped at the timeout (SIGTERM, then SIGKILL 5 s later).
    /// The host must have the reference worker's <c>exec</c> command. Defaults to false.
    /// </summary>
    public bool Isolated { get; set; }

    /// <summary>
    /// At most one run per params: while a run of this task with equal params (properties in any order, numbers in
    /// any form, secrets by their real value) is queued or running, queueing it again sends nothing and returns that
    /// run. A unique key given at queue time takes precedence. Defaults to false.
    /// </summary>
    public bool Unique { get; set; }

    /// <summary>
    /// Seconds after it is queued that a run may still start; a worker that receives it later ends it <c>aborted</c>
    /// ("expired"). 0: never expires. Defaults to 0.
    /// </summary>
    public double ExpiresSeconds { get; set; }

    /// <summary>Tags, used to filter task listings. Defaults to none.</summary>
    public string[] Tags { get; set; } = [];
}
