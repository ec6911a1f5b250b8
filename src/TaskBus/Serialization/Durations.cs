using System.Globalization;

namespace TaskBus.Serialization;

/// <summary>Durations as people write them on a command line or in a query string: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>, <c>00:05:00</c>, or seconds.</summary>
internal static class Durations
{
    /// <summary>Reads a positive duration.</summary>
    /// <exception cref="ArgumentException">Not a duration, or not positive.</exception>
    public static TimeSpan Parse(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim();
        var (number, unit) = value.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (value[..^2], 0.001)
            : value.EndsWith('s') ? (value[..^1], 1.0)
            : value.EndsWith('m') ? (value[..^1], 60.0)
            : value.EndsWith('h') ? (value[..^1], 3600.0)
            : value.EndsWith('d') ? (value[..^1], 86400.0)
            : (value, 1.0);
        TimeSpan duration;
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var count) && double.IsFinite(count) && count * unit < TimeSpan.MaxValue.TotalSeconds)
            duration = TimeSpan.FromSeconds(count * unit);
        else if (value.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span))
            duration = span;
        else
            throw new ArgumentException($"{name} '{text}' is not a duration (500ms, 30s, 5m, 2h, 1d or 00:05:00)");
        return duration > TimeSpan.Zero ? duration : throw new ArgumentException($"{name} must be positive, not '{text}'");
    }
}
