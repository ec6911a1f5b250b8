using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using TaskBus.Contracts;
using TaskBus.Contracts.Tasks;
using TaskBus.Diagnostics;
using TaskBus.Tests.Support;

namespace TaskBus.Tests.Diagnostics;

/// <summary>TaskBus's ActivitySource, through the OpenTelemetry SDK, and its Meter; each test reads only its own spans and measurements.</summary>
public sealed class TelemetryTests
{
    private static readonly ActivitySource Caller = new("TaskBus.Tests.Caller");

    [Fact]
    public async Task EachRun_HasOneSpan_InTheTraceOfTheSpanThatQueuedIt_WithItsAttributes_AndErrorStatusOnFailure()
    {
        // Only this test's traces: other tests of this process end TaskBus spans of their own meanwhile.
        var traces = new ConcurrentDictionary<ActivityTraceId, byte>();
        var own = new OwnSpans(traces);
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(TaskBusTelemetry.Name, "MassTransit", Caller.Name)
            .AddProcessor(own)
            .Build();
        var spans = own.Spans;
        await using var services = await TestServices.StartAsync();
        var recorder = new RunRecorder(services.Manager);

        TaskRun ok, failed;
        ActivityTraceId okTrace, failedTrace;
        using (var queuing = Caller.StartActivity("queue add"))
        {
            okTrace = queuing!.TraceId;
            traces[okTrace] = 0;
            ok = await services.Manager.QueueAsync("add", new Add { A = 1, B = 2 });
        }
        using (var queuing = Caller.StartActivity("queue dummy"))
        {
            failedTrace = queuing!.TraceId;
            traces[failedTrace] = 0;
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
        await using var services = await TestServices.StartAsync();
        var recorder = new RunRecorder(services.Manager);
        // Only this host's meter: other tests' hosts in this process have TaskBus meters of their own.
        var factory = services.Provider.GetRequiredService<IMeterFactory>();
        var measured = new List<(string Instrument, double Value, string? Task, string? State)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TaskBusTelemetry.Name && instrument.Meter.Scope == factory)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        services.Provider.GetRequiredService<TaskBusMetrics>();
        listener.Start();

        var runs = new List<TaskRun>();
        for (var i = 0; i < 3; i++)
            runs.Add(await services.Manager.QueueAsync("add", new Add { A = i, B = 1 }));
        runs.Add(await services.Manager.QueueAsync("dummy", new Dummy { Sleep = 0, Error = true }));
        foreach (var run in runs)
            await recorder.WaitForFinal(run.Id);
        listener.RecordObservableInstruments();

        lock (measured)
        {
            Assert.Equal(3, measured.Count(m => m is { Instrument: "taskbus.runs", Task: "add", State: "success" }));
            Assert.Equal(1, measured.Count(m => m is { Instrument: "taskbus.runs", Task: "dummy", State: "failure" }));
            Assert.Equal(3, measured.Count(m => m is { Instrument: "taskbus.run.duration", Task: "add", State: "success" }));
            Assert.All(measured.Where(m => m.Instrument == "taskbus.run.duration"), m => Assert.True(m.Value >= 0));
            Assert.Contains(measured, m => m is { Instrument: "taskbus.runs.running", Value: 0 });
            Assert.DoesNotContain(measured, m => m.Instrument == "taskbus.runs" && m.Task is not ("add" or "dummy"));
        }

        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? task = null, state = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "taskbus.task")
                    task = tag.Value as string;
                else if (tag.Key == "taskbus.state")
                    state = tag.Value as string;
            }
            lock (measured)
                measured.Add((instrument.Name, value, task, state));
        }
    }

    /// <summary>The spans that end in the given traces, through the SDK's processor pipeline.</summary>
    private sealed class OwnSpans(ConcurrentDictionary<ActivityTraceId, byte> traces) : BaseProcessor<Activity>
    {
        public ConcurrentQueue<Activity> Spans { get; } = new();

        public override void OnEnd(Activity data)
        {
            if (traces.ContainsKey(data.TraceId))
                Spans.Enqueue(data);
        }
    }
}
