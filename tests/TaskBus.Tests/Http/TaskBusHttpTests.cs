using System.Net;
using MassTransit;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TaskBus.Consuming;
using TaskBus.Contracts;
using TaskBus.Http;
using TaskBus.Storage;
using TaskBus.Tests.Support;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Http;

/// <summary>Every route on a real Kestrel server on loopback, with the sample tasks on the in-memory transport.</summary>
public sealed class TaskBusHttpTests : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private RunRecorder _recorder = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddTaskBus(o => o.ScheduleTasks = false).AddTasksFromAssembly(typeof(DummyTask).Assembly);
        builder.Services.AddTaskBusHttp();
        _app = builder.Build();
        _app.MapTaskBus();
        _recorder = new RunRecorder(_app.Services.GetRequiredService<TaskManager>());
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task GetTasks_FiltersByAnyOfTheTags()
    {
        var test = await _http.GetFromJsonAsync<TaskInfo[]>("/tasks?tags=test", Json);
        var either = await _http.GetFromJsonAsync<TaskInfo[]>("/tasks?tags=fast&tags=skip_db", Json);
        var none = await _http.GetFromJsonAsync<TaskInfo[]>("/tasks?tags=nosuch", Json);
        var all = await _http.GetFromJsonAsync<TaskInfo[]>("/tasks", Json);

        Assert.Equal(["dummy", "fast"], test!.Select(t => t.Name));
        Assert.Equal(["fast", "ping"], either!.Select(t => t.Name));
        Assert.Empty(none!);
        Assert.Equal(10, all!.Length);
        Assert.Equal("every(0:00:02)", all.Single(t => t.Name == "ping").Schedule);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    [InlineData("PATCH")]
    public async Task UnknownTask_Is404(string method)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), "/tasks/nosuch") { Content = JsonContent.Create(new { enabled = false }) };

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("Task nosuch not found", (await response.Content.ReadFromJsonAsync<ApiError>(Json))!.Error);
    }

    [Fact]
    public async Task PostTask_QueuesARun_AndTheTaskInfoLaterShowsItsEnd()
    {
        using var response = await _http.PostAsJsonAsync("/tasks/dummy", new { sleep = 0.2 });
        var run = await response.Content.ReadFromJsonAsync<TaskRunEvent>(Json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TaskState.Queued, run!.State);
        await WaitStoredAsync(run.Id);
        var info = await _http.GetFromJsonAsync<TaskInfo>("/tasks/dummy", Json);
        Assert.NotNull(info!.LastRunEnd);
        Assert.Equal(TaskState.Success, info.LastRunState);
    }

    [Fact]
    public async Task PostTask_WithAUniqueKeyAndExpiry_ThenCancel_AnswersAsTheRunStands()
    {
        using var first = await _http.PostAsJsonAsync("/tasks/dummy?uniqueKey=nightly&expires=5m", new { sleep = 3600 });
        using var again = await _http.PostAsJsonAsync("/tasks/dummy?uniqueKey=nightly", new { sleep = 1 });
        var queued = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement;
        var deduplicated = JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement;
        var id = queued.GetProperty("id").GetString()!;

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, again.StatusCode));
        Assert.Equal(("queued", false, "nightly"), (queued.GetProperty("state").GetString(), queued.GetProperty("deduplicated").GetBoolean(), queued.GetProperty("uniqueKey").GetString()));
        Assert.True(queued.GetProperty("expiresAt").GetDateTimeOffset() > queued.GetProperty("queued").GetDateTimeOffset());
        Assert.Equal((id, true), (deduplicated.GetProperty("id").GetString(), deduplicated.GetProperty("deduplicated").GetBoolean()));
        await _recorder.WaitFor(e => e.Id == id && e.State == TaskState.Running);

        using var cancel = await _http.PostAsync($"/tasks-history/{id}/cancel?reason=too%20slow", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var final = await _recorder.WaitForFinal(id);
        Assert.Equal((TaskState.Aborted, "cancelled: too slow"), (final.State, final.Error));
        await WaitStoredAsync(id);
        using var ended = await _http.PostAsync($"/tasks-history/{id}/cancel", null);
        using var unknown = await _http.PostAsync($"/tasks-history/{Guid.NewGuid():N}/cancel", null);
        using var notAnId = await _http.PostAsync("/tasks-history/nope/cancel", null);
        using var badExpiry = await _http.PostAsJsonAsync("/tasks/dummy?expires=soon", new { sleep = 0 });

        Assert.Equal(HttpStatusCode.Conflict, ended.StatusCode);
        Assert.Equal($"run {id} has ended already: aborted", (await ended.Content.ReadFromJsonAsync<ApiError>(Json))!.Error);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, notAnId.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badExpiry.StatusCode);
        Assert.Contains("expires 'soon' is not a duration", (await badExpiry.Content.ReadFromJsonAsync<ApiError>(Json))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requeue_OneRunOrAFilteredHistory_WithADryRun()
    {
        using var post = await _http.PostAsJsonAsync("/tasks/dummy", new { sleep = 0, error = true });
        var failed = (await post.Content.ReadFromJsonAsync<TaskRunEvent>(Json))!;
        await WaitStoredAsync(failed.Id);

        using var dry = await _http.PostAsync("/tasks-history/requeue?task=dummy&state=failure&dryRun=true", null);
        using var one = await _http.PostAsync($"/tasks-history/{failed.Id}/requeue", null);
        using var unknown = await _http.PostAsync($"/tasks-history/{Guid.NewGuid():N}/requeue", null);
        using var badFilter = await _http.PostAsync("/tasks-history/requeue?task=dummy&colour=red", null);
        var report = JsonDocument.Parse(await dry.Content.ReadAsStringAsync()).RootElement;
        var outcome = JsonDocument.Parse(await one.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal((HttpStatusCode.OK, true, 1, 1), (dry.StatusCode, report.GetProperty("dryRun").GetBoolean(), report.GetProperty("matched").GetInt32(), report.GetProperty("requeued").GetInt32()));
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var again = outcome.GetProperty("newRunId").GetString()!;
        Assert.Equal(failed.Id, (await _recorder.WaitForFinal(again)).FromRunId);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badFilter.StatusCode);
    }

    [Fact]
    public async Task PatchDisabled_ThenPost_LastRunIsAborted()
    {
        using var patch = await _http.PatchAsJsonAsync("/tasks/dummy", new { enabled = false });
        Assert.False((await patch.Content.ReadFromJsonAsync<TaskInfo>(Json))!.Enabled);

        using var post = await _http.PostAsJsonAsync("/tasks/dummy", new { sleep = 0 });
        var run = await post.Content.ReadFromJsonAsync<TaskRunEvent>(Json);
        await WaitStoredAsync(run!.Id);

        var info = await _http.GetFromJsonAsync<TaskInfo>("/tasks/dummy", Json);
        Assert.False(info!.Enabled);
        Assert.Equal(TaskState.Aborted, info.LastRunState);
    }

    [Theory]
    [InlineData("/tasks/add", """{"a":1}""", "missing required field 'b'")]
    [InlineData("/tasks/add", """{"a":1,"b":"two"}""", "b: expected a number")]
    [InlineData("/tasks/dummy", """{"slep":1}""", "slep")]
    [InlineData("/tasks/dummy?priority=urgent", """{}""", "'urgent' is not a priority")]
    [InlineData("/tasks/add", """{"a":1e400,"b":2}""", "a is Infinity, not a finite number")]
    [InlineData("/tasks/add", """{"a":1,""", "the body is not JSON")]
    public async Task PostTask_ParamsThatDoNotFit_Is422WithTheReason(string url, string body, string reason)
    {
        using var response = await _http.PostAsync(url, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<ApiError>(Json))!.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"enabled":"maybe"}""", "enabled must be true or false, not \"maybe\"")]
    [InlineData("""{"enable":false}""", "unknown field 'enable'; the field is enabled")]
    [InlineData("""[false]""", "the body must be a JSON object")]
    public async Task PatchTask_AWrongTypeOrAnUnknownField_Is422NamingIt_AndChangesNothing(string body, string reason)
    {
        using var response = await _http.PatchAsync("/tasks/add", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<ApiError>(Json))!.Error, StringComparison.Ordinal);
        Assert.True((await _http.GetFromJsonAsync<TaskInfo>("/tasks/add", Json))!.Enabled);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PATCH")]
    public async Task ABodyThatIsNotJson_Is415_NotReadAsNoParams(string method)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), "/tasks/noop") { Content = new StringContent("a=1", System.Text.Encoding.UTF8, "text/plain") };

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        // The route of PATCH declares the JSON it accepts, and ASP.NET Core refuses another content type before it.
        if (method == "POST")
            Assert.Contains("the body must be JSON (Content-Type: application/json), not 'text/plain", (await response.Content.ReadFromJsonAsync<ApiError>(Json))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostTask_WithoutABody_QueuesTheTasksDefaultParams()
    {
        using var response = await _http.PostAsync("/tasks/dummy", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var run = (await response.Content.ReadFromJsonAsync<TaskRunEvent>(Json))!;
        Assert.Equal(0.1, run.Params!.Value.GetProperty("sleep").GetDouble());
    }

    [Fact]
    public async Task PostTask_WithPriority_QueuesAtThatPriority()
    {
        using var response = await _http.PostAsJsonAsync("/tasks/noop?priority=high", new { });

        Assert.Equal(TaskPriority.High, (await response.Content.ReadFromJsonAsync<TaskRunEvent>(Json))!.Priority);
    }

    [Fact]
    public async Task History_HasTheStoredRun_WithItsTimesAndParams()
    {
        using var post = await _http.PostAsJsonAsync("/tasks/dummy", new { });
        var run = await post.Content.ReadFromJsonAsync<TaskRunEvent>(Json);
        await WaitStoredAsync(run!.Id);

        var stored = await _http.GetFromJsonAsync<TaskRunEvent>($"/tasks-history/{run.Id}", Json);

        Assert.Equal(TaskState.Success, stored!.State);
        Assert.NotNull(stored.Queued);
        Assert.NotNull(stored.Start);
        Assert.NotNull(stored.End);
        Assert.Equal("""{"sleep":0.1,"error":false,"abort":false}""", stored.Params!.Value.GetRawText());
    }

    [Fact]
    public async Task History_DuringARun_ShowsItRunningWithNoEnd()
    {
        using var post = await _http.PostAsJsonAsync("/tasks/dummy", new { sleep = 30 });
        var run = await post.Content.ReadFromJsonAsync<TaskRunEvent>(Json);
        await _recorder.WaitFor(e => e.Id == run!.Id && e.State == TaskState.Running);
        await _app.Services.GetRequiredService<TaskStoreWriter>().FlushAsync();

        var stored = await _http.GetFromJsonAsync<TaskRunEvent>($"/tasks-history/{run!.Id}", Json);

        Assert.Equal(TaskState.Running, stored!.State);
        Assert.Null(stored.End);
        _app.Services.GetRequiredService<RunProcessor>().CancelRunning();
    }

    [Fact]
    public async Task History_SkipDbTask_IsNotStored_AndUnknownIdIs404()
    {
        using var post = await _http.PostAsJsonAsync("/tasks/ping", new { });
        var run = await post.Content.ReadFromJsonAsync<TaskRunEvent>(Json);
        await WaitStoredAsync(run!.Id);

        using var ping = await _http.GetAsync($"/tasks-history/{run.Id}");
        using var unknown = await _http.GetAsync("/tasks-history/nosuch");

        Assert.Equal(HttpStatusCode.NotFound, ping.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task History_PagesAreDisjointAndNewestFirst_AndFilterByTaskAndState()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            using var post = await _http.PostAsJsonAsync("/tasks/noop", new { });
            ids.Add((await post.Content.ReadFromJsonAsync<TaskRunEvent>(Json))!.Id);
        }
        foreach (var id in ids)
            await WaitStoredAsync(id);

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await _http.GetFromJsonAsync<TaskRunPage>($"/tasks-history?task=noop&state=success&limit=2{(cursor is null ? "" : "&cursor=" + cursor)}", Json);
            Assert.InRange(page!.Runs.Count, 1, 2);
            seen.AddRange(page.Runs.Select(r => r.Id));
            cursor = page.Next;
        }
        while (cursor is not null);

        Assert.Equal(ids.AsEnumerable().Reverse(), seen);
        using var bad = await _http.GetAsync("/tasks-history?state=finished");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
    }

    [Fact]
    public async Task History_FiltersByTagsParamsAndQueuedTime()
    {
        async Task<string> Post(string task, object body)
        {
            using var post = await _http.PostAsJsonAsync($"/tasks/{task}", body);
            var id = (await post.Content.ReadFromJsonAsync<TaskRunEvent>(Json))!.Id;
            await WaitStoredAsync(id);
            return id;
        }
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var add1 = await Post("add", new { a = 1, b = 2 });
        var add2 = await Post("add", new { a = 7, b = 2 });
        var fast = await Post("fast", new { sleep = 0.01 });
        async Task<List<string>> History(string filters) =>
            [.. (await _http.GetFromJsonAsync<TaskRunPage>($"/tasks-history?{filters}", Json))!.Runs.Select(r => r.Id)];

        // "fast" carries the tags test and fast; add carries none.
        Assert.Equal([fast], await History("tags=fast"));
        Assert.Equal([fast], await History("tags=nosuch&tags=test"));
        Assert.Empty(await History("tags=nosuch"));
        Assert.Equal([add2, add1], await History("params=" + Uri.EscapeDataString("""{"b":2}""")));
        Assert.Equal([add2], await History("task=add&params=" + Uri.EscapeDataString("""{"a":7}""")));
        Assert.Equal([fast, add2, add1], await History($"start={Uri.EscapeDataString(before.ToString("O"))}&end={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"))}"));
        Assert.Empty(await History($"end={Uri.EscapeDataString(before.ToString("O"))}"));
    }

    [Theory]
    [InlineData("/tasks-history?task=dummy&tag=fast", "unknown filter 'tag'; the filters are task, tags, state, start, end, params, queue, limit, cursor")]
    [InlineData("/tasks-history?start=yesterday", "start must be an ISO 8601 time such as 2026-11-28T12:00:00Z, not 'yesterday'")]
    [InlineData("/tasks-history?start=2026-11-28T12:00:00Z&end=2026-11-28T11:00:00Z", "start (2026-11-28T12:00:00Z) is after end (2026-11-28T11:00:00Z)")]
    [InlineData("/tasks-history?params=%7Ba", "params must be a JSON object such as {\"a\":1}, not '{a'")]
    [InlineData("/tasks-history?params=%5B1%5D", "params must be a JSON object such as {\"a\":1}, not array")]
    [InlineData("/tasks-history?limit=abc", "limit must be a whole number between 1 and 1000, not 'abc'")]
    [InlineData("/tasks-history?limit=0", "limit must be a whole number between 1 and 1000, not '0'")]
    public async Task History_AnUnknownOrMalformedFilter_Is422NamingIt(string url, string error)
    {
        using var response = await _http.GetAsync(url);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(error, (await response.Content.ReadFromJsonAsync<ApiError>(Json))!.Error);
    }

    [Fact]
    public async Task TasksStatus_ListsThisWorker()
    {
        var status = await _http.GetFromJsonAsync<TasksStatus>("/tasks-status", Json);

        var worker = Assert.Single(status!.Workers);
        Assert.Equal(TaskManager.WorkerName, worker.Id);
        Assert.Null(status.QueueLength);
        Assert.Null(status.Queue!.ByPriority);
        Assert.Contains("in-memory transport", status.Queue.Source, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/tasks-queue", 501, "cannot remove messages from its queue")]
    [InlineData("/tasks-queue/high", 501, "cannot remove messages from its queue")]
    [InlineData("/tasks-queue/urgent", 422, "priority 'urgent' is not high, medium or low")]
    public async Task ClearQueue_OnTheInMemoryTransport_SaysItCannot_AndABadPriorityIs422(string url, int status, string reason)
    {
        using var response = await _http.DeleteAsync(url);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<ApiError>(Json))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheErrorQueue_OnTheInMemoryTransport_IsListed_KeptWhenItCannotBeRequeued_AndDiscardedById()
    {
        // A message no task takes: the worker sends it to the group's error queue, kept by TaskBus on this transport.
        var bus = _app.Services.GetRequiredService<IBus>();
        var id = Guid.NewGuid();
        var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{_app.Services.GetRequiredService<TaskManager>().Options.QueueName}"));
        await endpoint.Send(new NoTaskTakesThis(7), context => context.MessageId = id);
        await _recorder.WaitForFinal(id.ToString("N"));

        var listed = await _http.GetFromJsonAsync<FailedMessage[]>("/tasks-errors", Json);
        using var requeue = await _http.PostAsJsonAsync("/tasks-errors/requeue", new { runIds = new[] { id.ToString() } });
        var outcomes = await requeue.Content.ReadFromJsonAsync<RequeueOutcome[]>(Json);
        var still = await _http.GetFromJsonAsync<FailedMessage[]>("/tasks-errors", Json);
        using var badId = await _http.PostAsJsonAsync("/tasks-errors/discard", new { runIds = new List<string> { "nope" } });
        // All is never the default: no body, or one naming nothing, is refused.
        using var noBody = await _http.PostAsync("/tasks-errors/discard", null);
        using var nothing = await _http.PostAsJsonAsync("/tasks-errors/requeue", new { });
        using var discard = await _http.PostAsJsonAsync("/tasks-errors/discard", new { runIds = new[] { id.ToString("N") } });
        var discarded = await discard.Content.ReadFromJsonAsync<FailedMessage[]>(Json);
        var after = await _http.GetFromJsonAsync<FailedMessage[]>("/tasks-errors", Json);

        var failed = Assert.Single(listed!);
        Assert.Equal((id.ToString("N"), "unknown"), (failed.RunId, failed.Task));
        Assert.Contains("no task", failed.Reason, StringComparison.Ordinal);
        Assert.NotNull(failed.FailedAt);
        Assert.Equal(HttpStatusCode.OK, requeue.StatusCode);
        Assert.Equal("no task 'unknown' in this process", Assert.Single(outcomes!).Error);
        Assert.Single(still!);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badId.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, noBody.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, nothing.StatusCode);
        Assert.Equal(id.ToString("N"), Assert.Single(discarded!).RunId);
        Assert.Empty(after!);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheRoutes()
    {
        var document = await _http.GetStringAsync("/openapi/v1.json");

        foreach (var route in new[] { "/tasks", "/tasks/{name}", "/tasks-status", "/tasks-queue", "/tasks-queue/{priority}", "/tasks-errors", "/tasks-errors/requeue", "/tasks-errors/discard", "/tasks-history", "/tasks-history/{id}", "/tasks-history/{id}/cancel", "/tasks-history/{id}/requeue", "/tasks-history/requeue" })
            Assert.Contains($"\"{route}\"", document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApiDocument_IsValid_AndEveryRoutesAnswer_IsWhatItDocuments()
    {
        var text = await _http.GetStringAsync("/openapi/v1.json");
        var read = Microsoft.OpenApi.OpenApiDocument.Parse(text, "json");
        Assert.Empty(read.Diagnostic!.Errors);
        Assert.Empty(Microsoft.OpenApi.OpenApiElementExtensions.Validate(read.Document!, Microsoft.OpenApi.ValidationRuleSet.GetDefaultRuleSet()) ?? []);
        var document = JsonDocument.Parse(text).RootElement;
        var paths = document.GetProperty("paths");

        // A generated client's view of the main route: it sends the task's params, and reads the run's id back.
        var queue = paths.GetProperty("/tasks/{name}").GetProperty("post");
        var body = queue.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.Contains(body.GetProperty("anyOf").EnumerateArray(), s => s.GetProperty("$ref").GetString() == "#/components/schemas/Add");
        var add = document.GetProperty("components").GetProperty("schemas").GetProperty("Add");
        Assert.Equal(["a", "b"], add.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("number", add.GetProperty("properties").GetProperty("a").GetProperty("type").GetString());
        Assert.DoesNotContain(document.GetProperty("components").GetProperty("schemas").GetProperty("TaskState").GetProperty("enum").EnumerateArray(), v => v.ValueKind == JsonValueKind.Null);
        Assert.Equal("integer", paths.GetProperty("/tasks-history").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "limit").GetProperty("schema").GetProperty("type").GetString());
        Assert.DoesNotContain("&lt;", text, StringComparison.Ordinal);
        Assert.DoesNotContain("TaskManager.", text, StringComparison.Ordinal);

        // Real answers, each held to its documented schema: a run that ended, one queued with terms, and every read.
        using var queued = await _http.PostAsJsonAsync("/tasks/add", new { a = 1, b = 2 });
        var run = JsonDocument.Parse(await queued.Content.ReadAsStringAsync()).RootElement;
        var id = run.GetProperty("id").GetString()!;
        await WaitStoredAsync(id);
        using var termed = await _http.PostAsJsonAsync("/tasks/add?uniqueKey=k&expires=5m", new { a = 1, b = 2 });
        var answers = new List<(string Path, string Method, string Status, JsonElement Value)>
        {
            ("/tasks/{name}", "post", "200", run),
            ("/tasks/{name}", "post", "200", JsonDocument.Parse(await termed.Content.ReadAsStringAsync()).RootElement),
        };
        foreach (var (path, url) in new[]
        {
            ("/tasks", "/tasks"), ("/tasks/{name}", "/tasks/add"), ("/tasks-status", "/tasks-status"), ("/tasks-history", "/tasks-history?limit=5"),
            ("/tasks-history/{id}", $"/tasks-history/{id}"), ("/tasks-stats", "/tasks-stats"), ("/tasks-delayed", "/tasks-delayed"),
            ("/tasks-errors", "/tasks-errors"),
        })
        {
            using var response = await _http.GetAsync(url);
            answers.Add((path, "get", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement));
        }
        using (var missing = await _http.GetAsync("/tasks-history/0123456789abcdef0123456789abcdef"))
            answers.Add(("/tasks-history/{id}", "get", "404", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement));
        using (var requeued = await _http.PostAsync($"/tasks-history/{id}/requeue", null))
            answers.Add(("/tasks-history/{id}/requeue", "post", "200", JsonDocument.Parse(await requeued.Content.ReadAsStringAsync()).RootElement));
        using (var ended = await _http.PostAsync($"/tasks-history/{id}/cancel", null))
            answers.Add(("/tasks-history/{id}/cancel", "post", "409", JsonDocument.Parse(await ended.Content.ReadAsStringAsync()).RootElement));

        foreach (var (path, method, status, value) in answers)
        {
            var schema = paths.GetProperty(path).GetProperty(method).GetProperty("responses").GetProperty(status)
                .GetProperty("content").GetProperty("application/json").GetProperty("schema");
            var problems = SchemaConformance.Check(value, schema, document);
            Assert.True(problems.Count == 0, $"{method} {path} {status}: {string.Join("; ", problems)}\n{value.GetRawText()}");
        }
    }

    [Fact]
    public async Task ABodyOverTheLimit_IsRefusedWithA413_AndEvery4xxSaysWhyInJson()
    {
        // 2 MiB of params, over the 1 MiB default.
        using var large = new StringContent($"{{\"a\":1,\"b\":2,\"pad\":\"{new string('x', 2 * 1024 * 1024)}\"}}", System.Text.Encoding.UTF8, "application/json");
        using var tooLarge = await _http.PostAsync("/tasks/add", large);
        using var badLimit = await _http.GetAsync("/tasks-errors?limit=lots");
        using var badBody = await _http.PostAsync("/tasks-errors/discard", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));
        using var badMethod = await _http.PutAsync("/tasks/add", null);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains("TaskBus:Http:MaxRequestBodySize", (await tooLarge.Content.ReadFromJsonAsync<ApiError>(Json))!.Error, StringComparison.Ordinal);
        foreach (var refused in new[] { badLimit, badBody })
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.False(string.IsNullOrEmpty((await refused.Content.ReadFromJsonAsync<ApiError>(Json))!.Error));
        }
        Assert.Equal(HttpStatusCode.MethodNotAllowed, badMethod.StatusCode);
        Assert.Equal("this route does not take that method", (await badMethod.Content.ReadFromJsonAsync<ApiError>(Json))!.Error);
    }

    private async Task WaitStoredAsync(string runId)
    {
        await _recorder.WaitForFinal(runId);
        await _app.Services.GetRequiredService<TaskStoreWriter>().FlushAsync();
    }

    /// <summary>A message type no task takes.</summary>
    public sealed record NoTaskTakesThis(int Value);
}
