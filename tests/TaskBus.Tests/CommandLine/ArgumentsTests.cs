using System.Text.Json.Nodes;
using TaskBus.CommandLine;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.CommandLine;

public class ArgumentsTests
{
    [Fact]
    public void Split_SeparatesConfigurationKeysFromTheCommand()
    {
        var (configuration, command) = ConfigurationArguments.Split(
            ["exec", "--TaskBus:Transport=RabbitMQ", "dummy", "--TaskBus:QueueName", "q1", "--sleep", "1"]);

        Assert.Equal(["--TaskBus:Transport=RabbitMQ", "--TaskBus:QueueName=q1"], configuration);
        Assert.Equal(["exec", "dummy", "--sleep", "1"], command);
    }

    [Fact]
    public void Build_MergesJsonAndFields_WithJsonLiteralsTyped()
    {
        var task = TaskDescriptor.FromTask(typeof(DummyTask));

        var result = ParamsArguments.Build(task, """{"sleep":0.5,"error":true}""", ParamsArguments.ParseOptions(["--sleep", "2", "--abort"]));

        Assert.Equal("""{"sleep":2,"error":true,"abort":true}""", result.ToJsonString());
    }

    [Fact]
    public void Build_FieldNamesIgnoreCaseDashesAndUnderscores()
    {
        var task = TaskDescriptor.FromTask(typeof(RetryableTask));

        var result = ParamsArguments.Build(task, null, ParamsArguments.ParsePairs(["fail-times=2"]));

        Assert.Equal(2, result["failTimes"]!.GetValue<int>());
    }

    [Fact]
    public void Build_UnknownField_ThrowsTaskParams()
    {
        var task = TaskDescriptor.FromTask(typeof(AddTask));

        var error = Assert.Throws<TaskParamsException>(() => ParamsArguments.Build(task, null, ParamsArguments.ParsePairs(["c=1"])));

        Assert.Contains("no field 'c'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("{not json")]
    public void Build_ParamsNotAJsonObject_ThrowsTaskParams(string json) =>
        Assert.Throws<TaskParamsException>(() => ParamsArguments.Build(TaskDescriptor.FromTask(typeof(AddTask)), json, []));

    [Fact]
    public void Build_NonJsonValue_StaysAString_SoTheRecordRejectsIt()
    {
        var task = TaskDescriptor.FromTask(typeof(AddTask));
        var json = ParamsArguments.Build(task, null, ParamsArguments.ParsePairs(["a=1", "b=abc"]));

        Assert.Equal("abc", json["b"]!.GetValue<string>());
        Assert.Throws<TaskParamsException>(() => task.CreateParams((JsonNode)json));
    }
}
