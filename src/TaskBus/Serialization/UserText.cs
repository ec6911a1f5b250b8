using System.Text.Json;
using System.Text.RegularExpressions;

namespace TaskBus.Serialization;

/// <summary>
/// What a user is told of their own mistake, in their words: a field of their JSON, a setting, what was expected; never
/// a .NET type, a parameter name or a byte offset (System.Text.Json and the configuration binder name all three).
/// </summary>
internal static partial class UserText
{
    /// <summary>An exception's message for the user: an argument's parameter name left out, a JSON error in JSON's words.</summary>
    public static string Of(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            JsonException json => Json(json),
            ArgumentException { ParamName: { } name } argument => argument.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal),
            _ => exception.Message,
        };
    }

    /// <summary>A JSON error: which field, what was expected, or where the text stops being JSON (line and column, from 1).</summary>
    public static string Json(JsonException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = exception.Message;
        var field = Field(exception.Path);
        if (UnknownMember().Match(message) is { Success: true } unknown)
            return $"unknown field '{unknown.Groups[1].Value}'";
        if (MissingRequired().Match(message) is { Success: true } missing)
            return $"missing required field{(missing.Groups[1].Value.Contains(',', StringComparison.Ordinal) ? "s" : "")} {missing.Groups[1].Value.Trim()}";
        if (NotConvertible().Match(message) is { Success: true } convert)
            return field is null ? $"expected {Expected(convert.Groups[1].Value)}" : $"{field}: expected {Expected(convert.Groups[1].Value)}";
        // The reader's own errors ("'x' is an invalid start of a value"): where, for a person counting from 1.
        var text = Trailer().Replace(message, "").Trim().TrimEnd('.');
        if (exception.LineNumber is { } line && exception.BytePositionInLine is { } column)
            return $"not valid JSON at line {line + 1}, column {column + 1}: {text}";
        return field is null ? text : $"{field}: {text}";
    }

    /// <summary>A configuration value the binder could not convert, said as the setting and what it takes.</summary>
    public static string? Configuration(InvalidOperationException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (ConfigurationValue().Match(exception.Message) is not { Success: true } match)
            return null;
        var (value, setting, type) = (match.Groups[1].Value, match.Groups[2].Value, match.Groups[3].Value);
        return $"{setting}: '{value}' is not {Expected(type)}";
    }

    private static string? Field(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    /// <summary>What a .NET type takes, in JSON's words; an enum's names where the type can be found.</summary>
    private static string Expected(string typeName)
    {
        var name = typeName.TrimEnd('?');
        if (name.StartsWith("System.Nullable`1[", StringComparison.Ordinal))
            name = name["System.Nullable`1[".Length..].Split(',')[0].TrimEnd(']');
        return name switch
        {
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Int32" or "System.Int64" or "System.Int16" or "System.Byte" or "System.UInt32" or "System.UInt64" or "System.UInt16" or "System.SByte"
                => "a whole number",
            "System.Boolean" => "true or false",
            "System.String" or "System.Char" => "a string",
            "System.DateTimeOffset" or "System.DateTime" or "System.DateOnly" => "an ISO 8601 time such as 2026-12-08T12:00:00Z",
            "System.TimeSpan" or "System.TimeOnly" => "a duration such as 00:00:30",
            "System.Guid" => "a GUID",
            _ when EnumNames(name) is { } names => $"one of {names}",
            _ when name.EndsWith("[]", StringComparison.Ordinal) || name.Contains("List`1", StringComparison.Ordinal) => "an array",
            _ => "an object",
        };
    }

    private static string? EnumNames(string typeName)
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            // The names as JSON has them (a [JsonStringEnumMemberName] where there is one), not the .NET ones.
            if (assembly.GetType(typeName, throwOnError: false) is { IsEnum: true } type)
            {
                return string.Join(", ", type.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static).Select(f =>
                    f.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonStringEnumMemberNameAttribute), false)
                        .OfType<System.Text.Json.Serialization.JsonStringEnumMemberNameAttribute>().FirstOrDefault()?.Name ?? f.Name));
            }
        }
        return null;
    }

    [GeneratedRegex(@"The JSON property '([^']*)' could not be mapped to any \.NET member")]
    private static partial Regex UnknownMember();

    [GeneratedRegex(@"was missing required properties including: (.*?)\.?$")]
    private static partial Regex MissingRequired();

    [GeneratedRegex(@"The JSON value could not be converted to ([^\s.]+(?:\.[^\s.]+)*)\.")]
    private static partial Regex NotConvertible();

    [GeneratedRegex(@"\s*(Path: .*)?\|?\s*LineNumber: \d+ \| BytePositionInLine: \d+\.?")]
    private static partial Regex Trailer();

    [GeneratedRegex(@"Failed to convert configuration value '(.*)' at '([^']*)' to type '([^']*)'")]
    private static partial Regex ConfigurationValue();
}
