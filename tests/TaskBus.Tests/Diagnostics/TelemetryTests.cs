using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Diagnostics;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Diagnostics;

/// <summary>TaskBus's ActivitySource and Meter through the OpenTelemetry SDK and its in-memory exporter.</summary>
public sealed class TelemetryTests
{
    private static readonly ActivitySource Caller = new("TaskBus.Tests.Caller");

    [Fact]
    public async Task EachRun_HasOneSpan_InTheTraceOfTheSpanThatQueuedIt_WithItsAttributes_AndErrorStatusOnFailure()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(TaskBusTelemetry.Name, "MassTransit", Caller.Name)
            .AddInMemoryExporter(spans)
            .Build();
        await using var services = await TestServices.StartAsync();
        var recorder = new RunRecorder(services.Manager);

        TaskRun ok, failed;
        ActivityTraceId okTrace, failedTrace;
        using (var queuing = Caller.StartActivity("queue add"))
        {
            okTrace = queuing!.TraceId;
            ok = await services.Manager.QueueAsync("add", new Add { A = 1, B = 2 });
        }
        using (var queuing = Caller.StartActivity("queue dummy"))
        {
            failedTrace = queuing!.TraceId;
            failed = await services.Manager.QueueAsync("dummy", new Dummy { Sleep = 0, Error = true });
        }
        await recorder.WaitForFinal(ok.Id);
        await recorder.WaitForFinal(failed.Id);
        // A run's span ends when its consumer is done with the message.
        Assert.True(await services.Harness.Consumed.Any<Add>(x => x.Context.MessageId == ok.Guid));
        Assert.True(await services.Harness.Consumed.Any<Dummy>(x => x.Context.MessageId == failed.Guid));
        tracing.ForceFlush();

        var okSpan = Assert.Single(spans, s => s.Source.Name == TaskBusTelemetry.Name && (string?)s.GetTagItem("taskbus.run_id") == ok.Id);
        Assert.Equal(okTrace, okSpan.TraceId);
        Assert.Equal("add run", okSpan.DisplayName);
        Assert.Equal("add", okSpan.GetTagItem("taskbus.task"));
        Assert.Equal("success", okSpan.GetTagItem("taskbus.state"));
        Assert.Equal("medium", okSpan.GetTagItem("taskbus.priority"));
        Assert.Equal(0, okSpan.GetTagItem("taskbus.retry_attempt"));
        Assert.Equal(TaskManager.WorkerName, okSpan.GetTagItem("taskbus.worker"));
        Assert.Equal(ActivityStatusCode.Ok, okSpan.Status);

        var failedSpan = Assert.Single(spans, s => s.Source.Name == TaskBusTelemetry.Name && (string?)s.GetTagItem("taskbus.run_id") == failed.Id);
        Assert.Equal(failedTrace, failedSpan.TraceId);
        Assert.Equal("failure", failedSpan.GetTagItem("taskbus.state"));
        Assert.Equal(ActivityStatusCode.Error, failedSpan.Status);
        Assert.Equal("InvalidOperationException: dummy error", failedSpan.StatusDescription);
    }

    [Fact]
    public async Task Meter_CountsRunsByTaskAndFinalState_RecordsTheirDuration_AndObservesRunsInProgress()
    {
        var metrics = new List<Metric>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(TaskBusTelemetry.Name).AddInMemoryExporter(metrics).Build();
        await using var services = await TestServices.StartAsync();
        services.Provider.GetRequiredService<TaskBusMetrics>();
        var recorder = new RunRecorder(services.Manager);

        var runs = new List<TaskRun>();
        for (var i = 0; i < 3; i++)
            runs.Add(await services.Manager.QueueAsync("add", new Add { A = i, B = 1 }));
        runs.Add(await services.Manager.QueueAsync("dummy", new Dummy { Sleep = 0, Error = true }));
        foreach (var run in runs)
            await recorder.WaitForFinal(run.Id);
        meters.ForceFlush();

        // Other tests of this process may add their runs: this one's are a lower bound.
        Assert.True(Sum(metrics, "taskbus.runs", "add", "success") >= 3);
        Assert.True(Sum(metrics, "taskbus.runs", "dummy", "failure") >= 1);
        Assert.True(HistogramCount(metrics, "taskbus.run.duration", "add", "success") >= 3);
        Assert.Contains(metrics, m => m.Name == "taskbus.runs.running" && m.MetricType == MetricType.LongGauge);
    }

    private static long Sum(List<Metric> metrics, string name, string task, string state) => Largest(metrics, name, task, state, histogram: false);

    private static long HistogramCount(List<Metric> metrics, string name, string task, string state) => Largest(metrics, name, task, state, histogram: true);

    // The largest value exported for the task and state: a counter's sum, or a histogram's count.
    private static long Largest(List<Metric> metrics, string name, string task, string state, bool histogram)
    {
        long largest = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
            foreach (ref readonly var point in metric.GetMetricPoints())
                if (Has(point, task, state))
                    largest = Math.Max(largest, histogram ? point.GetHistogramCount() : point.GetSumLong());
        return largest;
    }

    private static bool Has(in MetricPoint point, string task, string state)
    {
        string? t = null, s = null;
        foreach (var tag in point.Tags)
        {
            if (tag.Key == "taskbus.task")
                t = tag.Value as string;
            else if (tag.Key == "taskbus.state")
                s = tag.Value as string;
        }
        return t == task && s == state;
    }
}
