using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>
/// Every command line, with a broker or store it cannot reach or use: exit 2 and one line naming the setting
/// and host at fault and the reason; no stack trace.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class CommandLineFailureTests(ITestOutputHelper output)
{
    private const string ClosedBroker = "--TaskBus:RabbitMQ:Url=amqp://guest:guest@localhost:5673/";
    private const string WrongBrokerPassword = "--TaskBus:RabbitMQ:Url=amqp://guest:wrong@localhost:5672/";
    private const string WrongStorePassword = "--TaskBus:Store:ConnectionString=Host=localhost;Username=taskbus;Password=wrong;Database=taskbus";

    public static TheoryData<string, string[], string[]> Failures() => new()
    {
        { "TaskBus.Worker", ["serve", "--TaskBus:Transport=RabbitMQ", ClosedBroker], ["TaskBus:RabbitMQ:Url", "localhost:5673", "refused"] },
        { "TaskBus.Worker", ["serve", "--TaskBus:Transport=RabbitMQ", WrongBrokerPassword], ["TaskBus:RabbitMQ:Url", "localhost:5672", "ACCESS_REFUSED"] },
        { "TaskBus.Worker", ["serve", "--TaskBus:Store:Provider=PostgreSQL", WrongStorePassword], ["TaskBus:Store:ConnectionString", "localhost:5432", "password authentication failed"] },
        { "TaskBus.Worker", ["ls", "--TaskBus:Store:Provider=PostgreSQL", WrongStorePassword], ["TaskBus:Store:ConnectionString", "localhost:5432", "password authentication failed"] },
        { "TaskBus.Worker", ["enable", "add", "--disable", "--TaskBus:Store:Provider=PostgreSQL", WrongStorePassword], ["TaskBus:Store:ConnectionString", "password authentication failed"] },
        { "TaskBus.Worker", ["ls", "--TaskBus:Store:Provider=PostgreSQL", "--TaskBus:Store:ConnectionString=Host=localhost;Port=5433;Username=taskbus;Password=taskbus;Timeout=2"], ["TaskBus:Store:ConnectionString", "localhost:5433"] },
        // exec runs inline and needs neither broker nor store; their settings are still checked.
        { "TaskBus.Worker", ["exec", "add", "--a", "1", "--b", "2", "--TaskBus:Transport=RabbitMQ", "--TaskBus:RabbitMQ:Url=http://localhost:5672/"], ["TaskBus:RabbitMQ:Url", "amqp://"] },
        { "TaskBus.Worker", ["exec", "add", "--a", "1", "--b", "2", "--TaskBus:Store:Provider=PostgreSQL"], ["TaskBus:Store:ConnectionString", "required"] },
        { "TaskBus.Publisher", ["queue", "add", "--param", "a=1", "--param", "b=2", "--TaskBus:Transport=RabbitMQ", ClosedBroker], ["TaskBus:RabbitMQ:Url", "localhost:5673", "refused"] },
        { "TaskBus.Publisher", ["queue", "add", "--param", "a=1", "--param", "b=2", "--TaskBus:Transport=RabbitMQ", WrongBrokerPassword], ["TaskBus:RabbitMQ:Url", "ACCESS_REFUSED"] },
        { "TaskBus.Publisher", ["watch", "--TaskBus:Transport=RabbitMQ", ClosedBroker], ["TaskBus:RabbitMQ:Url", "localhost:5673", "refused"] },
        { "TaskBus.Publisher", ["queue", "add", "--param", "a=1", "--param", "b=2"], ["TaskBus:Transport", "InMemory"] },
        { "TaskBus.Publisher", ["watch", "--TaskBus:Transport=InMemory"], ["TaskBus:Transport", "InMemory"] },
        // HTTP beyond loopback with nothing guarding it: refused before it listens.
        { "TaskBus.Worker", ["serve", "--TaskBus:Http:Urls=http://0.0.0.0:0"], ["http://0.0.0.0:0", "TaskBus:Http:ApiKey"] },
        // A schedule or retry setting for a task that does not exist: a typo, said at start.
        { "TaskBus.Worker", ["serve", "--TaskBus:Schedules:pnig=00:00:05"], ["TaskBus:Schedules:pnig", "no task is named pnig"] },
        { "TaskBus.Worker", ["ls", "--TaskBus:Retries:nosuch:MaxAttempts=2"], ["TaskBus:Retries:nosuch", "no task is named nosuch"] },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task BrokerOrStoreUnusable_ExitsTwo_WithOneLineNamingTheSettingAndNoStackTrace(string app, string[] args, string[] named)
    {
        await using var process = AppProcess.Start(app, [.. args, "--TaskBus:StartTimeout=00:00:02"]);

        var exitCode = await process.WaitForExitAsync();

        output.WriteLine(process.Output);
        Assert.Equal(2, exitCode);
        var error = Assert.Single(process.Output.Split('\n'), l => l.Contains("Error: ", StringComparison.Ordinal));
        foreach (var text in named)
            Assert.Contains(text, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", process.Output, StringComparison.Ordinal);
    }

    private const string StoreOnRabbitMq = "--TaskBus:Transport=RabbitMQ";

    /// <summary>Refusals that no retry can mend (a login refused, a setting that does not hold), with the default start timeout.</summary>
    public static TheoryData<string, string[], string> Refusals() => new()
    {
        { "TaskBus.Publisher", ["queue", "add", "--param", "a=1", "--param", "b=2", StoreOnRabbitMq, "--TaskBus:Store:Provider=PostgreSQL", WrongStorePassword], "28P01" },
        { "TaskBus.Publisher", ["cancel", "0123456789abcdef0123456789abcdef", StoreOnRabbitMq, "--TaskBus:Store:Provider=PostgreSQL", WrongStorePassword], "28P01" },
        { "TaskBus.Publisher", ["watch", StoreOnRabbitMq, WrongBrokerPassword], "ACCESS_REFUSED" },
        { "TaskBus.Publisher", ["status", StoreOnRabbitMq, WrongBrokerPassword], "ACCESS_REFUSED" },
        { "TaskBus.Worker", ["serve", StoreOnRabbitMq, "--TaskBus:Store:Provider=PostgreSQL", WrongStorePassword], "28P01" },
        { "TaskBus.Worker", ["serve", StoreOnRabbitMq, WrongBrokerPassword], "ACCESS_REFUSED" },
        { "TaskBus.Worker", ["serve", "--TaskBus:Store:Provider=PostgreSQL", "--TaskBus:Store:ConnectionString=Host=localhost;Username=taskbus;Database=taskbus"], "No password has been provided" },
        { "TaskBus.Worker", ["serve", "--TaskBus:Store:Provider=PostgreSQL", "--TaskBus:Store:ConnectionString=Host=localhost;Username=taskbus;Password=taskbus;Database=taskbus_no_such_database"], "3D000" },
        { "TaskBus.Worker", ["serve", "--TaskBus:Http:Urls=http://0.0.0.0:0"], "TaskBus:Http:ApiKey" },
        { "TaskBus.Worker", ["ls", "--TaskBus:Store:Provider=Postgres"], "TaskBus:Store:Provider: 'Postgres' is not one of Memory, PostgreSQL" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ARefusal_IsPermanent_OneLineAndExitTwo_NoRetries_NoDotNetNames(string app, string[] args, string named)
    {
        await using var process = AppProcess.Start(app, args);

        var exitCode = await process.WaitForExitAsync();

        output.WriteLine(process.Output);
        Assert.Equal(2, exitCode);
        // One line on the terminal: no retry warnings before it (a wrong password waited a minute through 14 of them),
        // no host's "Hosting failed to start" or "Application startup exception" beside it.
        var line = Assert.Single(process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("Error: ", line.Replace("[stderr] ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", line, StringComparison.Ordinal);
    }
}
