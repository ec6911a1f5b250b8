namespace TaskBus.Tasks;

/// <summary>An environment variable for the child process of an isolated task (aio-fluid's <c>env</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class TaskEnvAttribute(string name, string value) : Attribute
{
    /// <summary>The variable's name.</summary>
    public string Name { get; } = name;

    /// <summary>Its value.</summary>
    public string Value { get; } = value;
}
