using Microsoft.Extensions.Options;
using TaskBus.Contracts.Tasks;
using TaskBus.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Managers;

public class TaskManagerTypeTests
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
    public void AddTaskBus_InvalidValue_ThrowsNamingTheKeyAndValue(string key, string value, string message)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("TaskBus:" + key, value)]).Build();

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => new ServiceCollection().AddTaskBus(configuration.GetSection("TaskBus")));

        Assert.Contains(message, error.Failures);
    }

    [Fact]
    public void AddTaskBus_RabbitMqWithAMalformedUrl_Throws()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(
            [new("TaskBus:Transport", "RabbitMQ"), new("TaskBus:RabbitMQ:Url", "localhost:5672")]).Build();

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => new ServiceCollection().AddTaskBus(configuration.GetSection("TaskBus")));

        Assert.Contains("TaskBus:RabbitMQ:Url: 'localhost:5672' is not an amqp:// or amqps:// URL.", error.Failures);
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

    [Fact]
    public async Task ConfigureAfterAddTaskBus_ChangingWhatDecidedTheServices_StopsStartNamingTheKey()
    {
        var services = new ServiceCollection();
        services.AddTaskBus(new ConfigurationBuilder().Build(), o => o.ScheduleTasks = false);
        services.Configure<TaskBusOptions>(o =>
        {
            o.QueueName = "other";
            o.Store.ConnectionString = "Host=db;Password=secret";
        });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TaskBusOptions>>().Value);

        Assert.Contains("TaskBus:QueueName: changed from 'taskbus-tasks' to 'other' after AddTaskBus had read it; set it in configuration or in AddTaskBus's configure argument.", error.Failures);
        Assert.Contains(error.Failures, f => f.StartsWith("TaskBus:Store:ConnectionString: changed after", StringComparison.Ordinal));
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }
}
