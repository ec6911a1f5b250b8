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
    public void AddTaskBus_UnconvertibleValue_ThrowsNamingTheKey(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddTaskBus(configuration.GetSection("TaskBus")));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MaxConcurrentTasks", "0", "TaskBus:MaxConcurrentTasks: 0 is not between 1 and 1000.")]
    [InlineData("StoppingGracePeriod", "-00:00:01", "TaskBus:StoppingGracePeriod: -00:00:01 is negative.")]
    [InlineData("Store:Provider", "Redis", "TaskBus:Store:Provider: 'Redis' is not Memory or PostgreSQL.")]
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
}
