using TaskBus.Contracts;
using TaskBus.Execution;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Execution;

public sealed class ChainingTests
{
    [Fact]
    public async Task RunQueuedFromARun_CarriesFromAndRootRunIds_ThroughTheQueue()
    {
        await using var services = await TestServices.StartAsync(tasks: b => b.AddTask<ParentTask>().AddTask<ChildTask>().AddTask<GrandchildTask>());
        var recorder = new RunRecorder(services.Manager);

        var parent = await services.Manager.QueueAsync("parent");
        var grandchild = await recorder.WaitFor(e => e.Task == "grandchild" && e.State == TaskState.Success);
        var child = await recorder.WaitFor(e => e.Task == "child" && e.State == TaskState.Success);

        Assert.Equal((parent.Id, parent.Id), (child.FromRunId, child.RootRunId));
        Assert.Equal((child.Id, parent.Id), (grandchild.FromRunId, grandchild.RootRunId));
        Assert.Equal(("", ""), (parent.FromRunId, parent.RootRunId));
    }

    public sealed record Parent;

    public sealed record Child;

    public sealed record Grandchild;

    [Task("parent")]
    public sealed class ParentTask(TaskRunContext context) : ITask<Parent>
    {
        public Task ExecuteAsync(Parent parameters, CancellationToken cancellationToken) => context.QueueAsync("child", cancellationToken: cancellationToken);
    }

    [Task("child")]
    public sealed class ChildTask(TaskRunContext context) : ITask<Child>
    {
        public Task ExecuteAsync(Child parameters, CancellationToken cancellationToken) => context.QueueAsync("grandchild", cancellationToken: cancellationToken);
    }

    [Task("grandchild")]
    public sealed class GrandchildTask : ITask<Grandchild>
    {
        public Task ExecuteAsync(Grandchild parameters, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
