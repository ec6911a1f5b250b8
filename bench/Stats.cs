namespace TaskBus.Bench;

internal static class Stats
{
    /// <summary>The value at or below which a fraction <paramref name="p"/> of <paramref name="values"/> lie.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
