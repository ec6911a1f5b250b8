namespace TaskBus.CommandLine;

/// <summary>
/// Splits a command line into configuration overrides (<c>--TaskBus:Transport=RabbitMQ</c> or
/// <c>--TaskBus:Transport RabbitMQ</c>: any option whose name has a colon) and the command's own
/// arguments, so both can share one command line.
/// </summary>
internal static class ConfigurationArguments
{
    /// <summary>Returns the configuration arguments (as <c>--key=value</c>) and the rest, in order.</summary>
    public static (string[] Configuration, string[] Command) Split(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var configuration = new List<string>();
        var command = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var name = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : null;
            var key = name?.Split('=', 2)[0];
            if (key is null || !key.Contains(':', StringComparison.Ordinal))
            {
                command.Add(arg);
                continue;
            }
            if (name!.Contains('=', StringComparison.Ordinal))
                configuration.Add(arg);
            else if (i + 1 < args.Count)
                configuration.Add($"--{key}={args[++i]}");
            else
                throw new ArgumentException($"{arg}: a configuration key needs a value (--{key}=VALUE).", nameof(args));
        }
        return ([.. configuration], [.. command]);
    }
}
