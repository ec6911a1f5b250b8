using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace TaskBus.Tests.Configuration;

public class UsageTelemetryTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("true", true)]
    public void AddTaskBus_MassTransitUsageTelemetry_IsOffUnlessAskedFor(string? setting, bool enabled)
    {
        var settings = new Dictionary<string, string?>();
        if (setting is not null)
            settings["MassTransitUsageTelemetry"] = setting;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTaskBus(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), o => o.ScheduleTasks = false);

        using var provider = services.BuildServiceProvider();

        Assert.Equal(enabled, provider.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value.Enabled);
    }
}
