using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TaskBus.Contracts.Tasks;
using TaskBus.Tests.Support;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests;

public class TaskBusHostingExtensionsTests
{
    [Theory]
    [InlineData(true, true, "task_scheduler")]
    [InlineData(true, false, "task_consumer")]
    [InlineData(false, false, "task_manager")]
    public async Task Type_FollowsTheRolesOfTheProcess(bool consume, bool schedule, string type)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTaskBus(new ConfigurationBuilder().Build(), o =>
        {
            o.ConsumeTasks = consume;
            o.ScheduleTasks = schedule;
        }).AddTask<AddTask>();
        await using var provider = services.BuildServiceProvider();

        Assert.Equal(type, provider.GetRequiredService<TaskManager>().Type);
    }

    [Theory]
    [InlineData("TaskBus:Transport", "Kafka")]
    [InlineData("TaskBus:MaxConcurrentTasks", "many")]
    [InlineData("TaskBus:Store:Provider", "Redis")]
    public void AddTaskBus_UnconvertibleValue_ThrowsNamingTheKey(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddTaskBus(configuration.GetSection("TaskBus")));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MaxConcurrentTasks", "0", "TaskBus:MaxConcurrentTasks: 0 is not between 1 and 1000.")]
    [InlineData("StoppingGracePeriod", "-00:00:01", "TaskBus:StoppingGracePeriod: -00:00:01 is negative.")]
    [InlineData("Retries:add:Wait", "-00:00:01", "TaskBus:Retries:add:Wait: -00:00:01 is negative.")]
    [InlineData("Retries:add:Backoff", "0.5", "TaskBus:Retries:add:Backoff: 0.5 is not between 1 and 100.")]
    [InlineData("Http:Urls", "localhost:8080", "TaskBus:Http:Urls: 'localhost:8080' is not an http:// or https:// URL.")]
    [InlineData("RabbitMQ:Shards", "0", "TaskBus:RabbitMQ:Shards: 0 is not between 1 and 64.")]
    [InlineData("RabbitMQ:DeliveryLimit", "0", "TaskBus:RabbitMQ:DeliveryLimit: 0 is not positive.")]
    [InlineData("RabbitMQ:ReplicationFactor", "0", "TaskBus:RabbitMQ:ReplicationFactor: 0 is not between 1 and 99.")]
    [InlineData("RabbitMQ:Nodes:0", "localhost:5701,guest@node2/x", "TaskBus:RabbitMQ:Nodes: 'guest@node2/x' is not host or host:port.")]
    public void Options_AnInvalidValue_FailsWhenTheyAreFirstRead_NamingTheKeyAndValue(string key, string value, string message)
    {
        var error = Assert.Throws<OptionsValidationException>(() => OptionsOf([new("TaskBus:" + key, value)]));

        Assert.Contains(message, error.Failures);
    }

    [Fact]
    public void Options_RabbitMqWithAMalformedUrl_Fail()
    {
        var error = Assert.Throws<OptionsValidationException>(() => OptionsOf([new("TaskBus:Transport", "RabbitMQ"), new("TaskBus:RabbitMQ:Url", "localhost:5672")]));

        Assert.Contains("TaskBus:RabbitMQ:Url: 'localhost:5672' is not an amqp:// or amqps:// URL.", error.Failures);
    }

    [Fact]
    public void Options_SchedulesOrRetriesNamingNoTask_FailNamingTheKey()
    {
        var error = Assert.Throws<OptionsValidationException>(() => OptionsOf([new("TaskBus:Schedules:pnig", "00:00:05"), new("TaskBus:Retries:ad:Wait", "00:00:01")]));

        Assert.Contains("TaskBus:Schedules:pnig: no task is named pnig.", error.Failures);
        Assert.Contains("TaskBus:Retries:ad: no task is named ad.", error.Failures);
    }

    [Fact]
    public async Task Options_AreTheBoundObject_CheckedOnce_AndTheRegistryTakesTheirSchedulesAndRetries()
    {
        var validations = 0;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTaskBus(Section([new("TaskBus:Schedules:add", "00:00:07"), new("TaskBus:Retries:add:MaxAttempts", "4")]), o => o.ScheduleTasks = false)
            .AddTask<AddTask>();
        services.AddSingleton<IValidateOptions<TaskBusOptions>>(new CountingValidator(() => validations++));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<TaskBusOptions>>().Value;
        Assert.Same(options, provider.GetRequiredService<IOptionsMonitor<TaskBusOptions>>().CurrentValue);
        Assert.Same(options, provider.GetRequiredService<TaskManager>().Options);
        Assert.Equal(1, validations);
        var add = provider.GetRequiredService<TaskRegistry>().Get("add");
        Assert.Equal("every(0:00:07)", add.Schedule?.ToString());
        Assert.Equal(4, add.Retry?.MaxAttempts);
    }

    [Fact]
    public async Task ConfigureAfterAddTaskBus_ChangesTheOneOptionsObject_TheEndpointRunsWithItToo()
    {
        await using var services = await TestServices.StartAsync(after: s => s.Configure<TaskBusOptions>(o => o.MaxConcurrentTasks = 1));
        var recorder = new RunRecorder(services.Manager);

        Assert.Equal(1, services.Manager.Options.MaxConcurrentTasks);
        Assert.Same(services.Manager.Options, services.Provider.GetRequiredService<IOptions<TaskBusOptions>>().Value);
        var runs = new List<TaskRun>();
        for (var i = 0; i < 3; i++)
            runs.Add(await services.Manager.QueueAsync("sleep", new Sleep { Ms = 100 }));
        var finals = new List<TaskRun>();
        foreach (var run in runs)
            finals.Add(await recorder.WaitForFinal(run.Id));

        // One at a time, as the later Configure says (the harness default is 10).
        var ordered = finals.OrderBy(r => r.Start).ToList();
        for (var i = 1; i < ordered.Count; i++)
            Assert.True(ordered[i].Start >= ordered[i - 1].End, $"{ordered[i].Id} started before {ordered[i - 1].Id} ended");
    }

    [Theory]
    [InlineData("queue")]
    [InlineData("store")]
    [InlineData("transport")]
    public async Task ConfigureAfterAddTaskBus_ChangingWhatDecidedTheServices_StopsStartNamingTheKey(string change)
    {
        var services = new ServiceCollection();
        services.AddTaskBus(new ConfigurationBuilder().Build(), o => o.ScheduleTasks = false);
        services.Configure<TaskBusOptions>(o =>
        {
            o.MaxConcurrentTasks = 3;
            if (change == "queue")
                o.QueueName = "other";
            else if (change == "store")
                o.Store.ConnectionString = "Host=db;Password=secret";
            else
                o.Transport = TaskBusTransport.RabbitMQ;
        });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<TaskBusOptions>>().Value);

        const string how = "after AddTaskBus had read it; set it in configuration or in AddTaskBus's configure argument.";
        Assert.Equal(change switch
        {
            "queue" => $"TaskBus:QueueName: changed from 'taskbus-tasks' to 'other' {how}",
            "store" => $"TaskBus:Store:ConnectionString: changed {how}",
            _ => $"TaskBus:Transport: changed from 'InMemory' to 'RabbitMQ' {how}",
        }, error.Message);
    }

    [Fact]
    public async Task ConfigureAfterAddTaskBus_RunsOnceOnTheBoundObject_AlsoWhenTwoProvidersAreBuilt()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTaskBus(Section([new("TaskBus:MaxConcurrentTasks", "4")]), o => o.ScheduleTasks = false);
        services.Configure<TaskBusOptions>(o => o.MaxConcurrentTasks += 1);
        await using var first = services.BuildServiceProvider();
        await using var second = services.BuildServiceProvider();

        Assert.Equal(5, first.GetRequiredService<IOptions<TaskBusOptions>>().Value.MaxConcurrentTasks);
        Assert.Equal(5, second.GetRequiredService<IOptions<TaskBusOptions>>().Value.MaxConcurrentTasks);
    }

    [Fact]
    public void ConfigureAfterAddTaskBus_SettingWhatDecidedTheServicesToTheSameValue_IsFine()
    {
        var services = new ServiceCollection();
        services.AddTaskBus(Section([new("TaskBus:QueueName", "mine")]), o => o.ScheduleTasks = false);
        services.Configure<TaskBusOptions>(Section([new("TaskBus:QueueName", "mine")]));
        using var provider = services.BuildServiceProvider();

        Assert.Equal("mine", provider.GetRequiredService<IOptions<TaskBusOptions>>().Value.QueueName);
    }

    private static IConfiguration Section(IEnumerable<KeyValuePair<string, string?>> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(TaskBusOptions.SectionName);

    /// <summary>Adds TaskBus with the settings and the task add, and reads its options.</summary>
    private static TaskBusOptions OptionsOf(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTaskBus(Section(settings)).AddTask<AddTask>();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<TaskBusOptions>>().Value;
    }

    private sealed class CountingValidator(Action validated) : IValidateOptions<TaskBusOptions>
    {
        public ValidateOptionsResult Validate(string? name, TaskBusOptions options)
        {
            validated();
            return ValidateOptionsResult.Success;
        }
    }
}
