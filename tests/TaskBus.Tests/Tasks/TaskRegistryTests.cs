using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Tasks;

public class TaskRegistryTests
{
    [Fact]
    public void Get_UnknownName_ThrowsUnknownTask()
    {
        var registry = new TaskRegistry();

        var error = Assert.Throws<UnknownTaskException>(() => registry.Get("nosuch"));

        Assert.Equal("Task nosuch not found", error.Message);
    }

    [Fact]
    public void Add_DuplicateName_ThrowsNamingBothClasses()
    {
        var registry = new TaskRegistry();
        registry.Add(TaskDescriptor.FromTask(typeof(AddTask)));

        var error = Assert.Throws<InvalidOperationException>(() => registry.Add(TaskDescriptor.FromTask(typeof(OtherAdd))));

        Assert.Contains("'add' is registered twice", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(OtherAdd), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_SameParamsTypeTwice_Throws()
    {
        var registry = new TaskRegistry();
        registry.Add(TaskDescriptor.FromTask(typeof(AddTask)));

        var error = Assert.Throws<InvalidOperationException>(() => registry.Add(TaskDescriptor.FromTask(typeof(AddTask), "add2")));

        Assert.Contains("each task needs its own parameters type", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddTasksFromAssembly_RegistersEverySampleTask()
    {
        var builder = new ServiceCollection().AddTaskBus(new ConfigurationBuilder().Build())
            .AddTasksFromAssembly(typeof(DummyTask).Assembly);

        Assert.Equal(["add", "dummy", "exclusive", "fast", "locked", "noop", "ping", "retryable", "sleep", "spin"], builder.Registry.Select(t => t.Name));
    }

    [Fact]
    public void AddTasks_FromAMap_UsesTheKeysAsNames()
    {
        var builder = new ServiceCollection().AddTaskBus(new ConfigurationBuilder().Build())
            .AddTasks(new Dictionary<string, Type> { ["sum"] = typeof(AddTask), ["nothing"] = typeof(NoopTask) });

        Assert.True(builder.Registry.TryGet("sum", out var sum));
        Assert.Equal(typeof(Add), sum.ParamsType);
        Assert.True(builder.Registry.Contains("nothing"));
    }

    [Fact]
    public void AddTask_DuplicateName_FailsAtStartUp()
    {
        var builder = new ServiceCollection().AddTaskBus(new ConfigurationBuilder().Build()).AddTask<AddTask>();

        Assert.Throws<InvalidOperationException>(() => builder.AddTask<OtherAdd>());
    }

    [Fact]
    public void FromTask_ReadsOptionsFromAttributes()
    {
        var dummy = TaskDescriptor.FromTask(typeof(DummyTask));
        var ping = TaskDescriptor.FromTask(typeof(PingTask));
        var retryable = TaskDescriptor.FromTask(typeof(RetryableTask));
        var exclusive = TaskDescriptor.FromTask(typeof(ExclusiveTask));

        Assert.Equal(("dummy", 1, TimeSpan.FromSeconds(120)), (dummy.Name, dummy.MaxConcurrency, dummy.Timeout));
        Assert.Equal(["slow", "test"], dummy.Tags.Order());
        Assert.Equal(TaskPriority.Medium, dummy.Priority);
        Assert.Equal("every(0:00:02)", ping.Schedule?.ToString());
        Assert.Equal(3, retryable.Retry?.MaxAttempts);
        Assert.Null(retryable.RateLimitRetry);
        Assert.Equal(5, exclusive.RateLimitRetry?.MaxAttempts);
        Assert.Null(exclusive.Retry);
        Assert.Equal(TimeSpan.FromSeconds(60), TaskDescriptor.FromTask(typeof(AddTask)).Timeout);
    }

    [Theory]
    [InlineData(typeof(Add), "add")]
    [InlineData(typeof(SendWelcomeEmail), "send_welcome_email")]
    public void DefaultName_IsSnakeCaseOfTheParamsType(Type type, string name) =>
        Assert.Equal(name, TaskDescriptor.DefaultName(type));

    [Fact]
    public void CreateParams_MissingRequiredField_ThrowsTaskParams()
    {
        var add = TaskDescriptor.FromTask(typeof(AddTask));

        var error = Assert.Throws<TaskParamsException>(() => add.CreateParams(new Dictionary<string, object?> { ["a"] = 1 }));

        Assert.StartsWith("invalid params for task 'add':", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateParams_UnknownField_ThrowsTaskParams()
    {
        var dummy = TaskDescriptor.FromTask(typeof(DummyTask));

        Assert.Throws<TaskParamsException>(() => dummy.CreateParams("""{"slep": 1}"""));
    }

    [Fact]
    public void CreateParams_Null_GivesTheDefaults()
    {
        var dummy = TaskDescriptor.FromTask(typeof(DummyTask));

        var parameters = Assert.IsType<Dummy>(dummy.CreateParams(null));

        Assert.Equal(new Dummy { Sleep = 0.1, Error = false, Abort = false }, parameters);
    }

    [Fact]
    public void ParamsWithoutANamespace_AreRefusedAtRegistration_SayingWhy()
    {
        var error = Assert.Throws<ArgumentException>(() => TaskDescriptor.FromMessage(typeof(NoNamespaceParams), "top_level"));

        Assert.StartsWith("Task top_level: its params type NoNamespaceParams must be declared in a namespace", error.Message, StringComparison.Ordinal);
    }

    [Task("add")]
    private sealed class OtherAdd : ITask<Noop>
    {
        public Task ExecuteAsync(Noop parameters, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed record SendWelcomeEmail;
}
