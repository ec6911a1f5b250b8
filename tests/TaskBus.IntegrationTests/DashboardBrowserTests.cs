using System.Net.Http.Json;
using Microsoft.Playwright;
using TaskBus.Contracts;
using TaskBus.IntegrationTests.Support;
using Xunit.Abstractions;

namespace TaskBus.IntegrationTests;

/// <summary>
/// The dashboard in headless Chromium (Debian's, driven by Playwright), served by a worker process on RabbitMQ
/// and PostgreSQL; runs queued from other processes. Screenshots go to the test output folder.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class DashboardBrowserTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly string Screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");
    private readonly PostgresFixture _postgres = new();

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public Task DisposeAsync() => _postgres.DisposeAsync();

    [Fact]
    public async Task Dashboard_ShowsARunQueuedElsewhereTurnSuccessLive_TogglesATask_AndShowsWhyTheQueueFormRefusedParams()
    {
        var queue = RabbitMqFixture.NewQueueName("dash");
        try
        {
            // Chromium logs every 4xx answer itself; the 422 this test provokes on purpose is the only one allowed.
            await using var dashboard = await OpenAsync(queue, text => text.StartsWith("Failed to load resource: the server responded with a status of 422", StringComparison.Ordinal));
            var (page, http, errors, baseUrl) = (dashboard.Page, dashboard.Http, dashboard.Errors, dashboard.BaseUrl);
            page.RequestFailed += (_, request) =>
            {
                // The event stream is cut when the page closes; anything else failing is a defect.
                if (!request.Url.EndsWith("/tasks-events", StringComparison.Ordinal))
                    errors.Add($"{request.Method} {request.Url}: {request.Failure}");
            };

            await page.GotoAsync($"{baseUrl}/dashboard");
            await Assertions.Expect(page.Locator("tr[data-task='add']")).ToBeVisibleAsync();
            // The event stream is open before anything is queued, so no event can slip past it.
            await Assertions.Expect(page.Locator("#connection")).ToContainTextAsync("live");

            // A run queued by another process (the Publisher CLI) appears and turns success, without a reload.
            await using (var publisher = AppProcess.Start("TaskBus.Publisher", AppProcess.PublisherArgsFor(rabbit, queue, "queue", "add", "--param", "a=20", "--param", "b=22")))
            {
                Assert.Equal(0, await publisher.WaitForExitAsync());
                var queued = System.Text.Json.JsonSerializer.Deserialize<TaskRunEvent>(publisher.StdoutLines.Single(), Serialization.TaskBusJson.Options)!;
                await Assertions.Expect(page.Locator($"#runs tr[data-run='{queued.Id}'] td[data-field='state']")).ToHaveTextAsync("success");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("dashboard.png"), FullPage = true });

                // Its detail: params, timings, worker.
                await page.Locator($"#runs tr[data-run='{queued.Id}']").ClickAsync();
                await Assertions.Expect(page.Locator("#run-detail")).ToBeVisibleAsync();
                await Assertions.Expect(page.Locator("#run-detail pre[data-field='params']")).ToContainTextAsync("20");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("run-detail.png"), FullPage = true });
            }

            // Disable, then enable again: the page and the API agree each time.
            var add = page.Locator("#tasks tr[data-task='add']");
            await add.Locator("button[data-action='toggle']").ClickAsync();
            await Assertions.Expect(add.Locator("td[data-field='enabled']")).ToHaveTextAsync("no");
            Assert.False((await http.GetFromJsonAsync<TaskInfoView>("/tasks/add"))!.Enabled);
            await add.Locator("button[data-action='toggle']").ClickAsync();
            await Assertions.Expect(add.Locator("td[data-field='enabled']")).ToHaveTextAsync("yes");
            Assert.True((await http.GetFromJsonAsync<TaskInfoView>("/tasks/add"))!.Enabled);

            // Params that do not fit: the form shows the API's own reason.
            const string badParams = """{"a": "x"}""";
            using var refused = await http.PostAsync("/tasks/add", new StringContent(badParams, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            var reason = (await refused.Content.ReadFromJsonAsync<ErrorView>())!.Error;
            await page.Locator("#queue-task").SelectOptionAsync("add");
            await page.Locator("#queue-params").FillAsync(badParams);
            await page.Locator("#queue-submit").ClickAsync();
            await Assertions.Expect(page.Locator("#queue-result")).ToHaveTextAsync(reason);
            await Assertions.Expect(page.Locator("#queue-result")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("error"));
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("queue-refused.png"), FullPage = true });

            // Params that fit are queued from the form and run.
            await page.Locator("#queue-params").FillAsync("""{"a": 1, "b": 2}""");
            await page.Locator("#queue-submit").ClickAsync();
            await Assertions.Expect(page.Locator("#queue-result")).ToContainTextAsync("queued ");
            var id = (await page.Locator("#queue-result").TextContentAsync())!.Trim()["queued ".Length..];
            await Assertions.Expect(page.Locator($"#runs tr[data-run='{id}'] td[data-field='state']")).ToHaveTextAsync("success");

            // History shows stored runs, filtered by task.
            await page.Locator("#history-task").FillAsync("add");
            await page.Locator("#history-apply").ClickAsync();
            await Assertions.Expect(page.Locator($"#history tr[data-run='{id}']")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#workers tbody tr")).ToHaveCountAsync(1);

            // A poison message waits in the error queue: listed with its reason, then discarded from the page.
            var poison = Guid.NewGuid();
            await rabbit.SendRawAsync(queue, "{ not json", "application/vnd.masstransit+json", poison);
            await Assertions.Expect(page.Locator($"#runs tr[data-run='{poison:N}'] td[data-field='state']")).ToHaveTextAsync("failure");
            // The failure event and the move to the error queue are not ordered: refresh until the broker has it.
            var failed = page.Locator($"#errors tr[data-run-id='{poison:N}']");
            for (var attempt = 1; !await failed.IsVisibleAsync(); attempt++)
            {
                Assert.True(attempt <= 100, "the poison message did not show in the error queue panel");
                await page.RunAndWaitForResponseAsync(() => page.Locator("#errors-refresh").ClickAsync(), r => r.Url.Contains("/tasks-errors", StringComparison.Ordinal));
            }
            await Assertions.Expect(failed.Locator("td[data-field='reason']")).ToContainTextAsync("Exception");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("error-queue.png"), FullPage = true });
            await failed.Locator("input[type=checkbox]").CheckAsync();
            await page.Locator("#errors-discard").ClickAsync();
            await Assertions.Expect(page.Locator("#errors-result")).ToHaveTextAsync("discarded 1");
            await Assertions.Expect(page.Locator("#errors tbody tr")).ToHaveCountAsync(0);

            Assert.True(errors.Count == 0, string.Join("\n", errors));
            output.WriteLine($"screenshots in {Screenshots}");
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    [Fact]
    public async Task Dashboard_CancelsARunningRun_RequeuesAFailedOne_PausesAndResumes_AndDrawsTheLastHour()
    {
        var queue = RabbitMqFixture.NewQueueName("dash-control");
        try
        {
            await using var dashboard = await OpenAsync(queue);
            var (page, http, errors, baseUrl) = (dashboard.Page, dashboard.Http, dashboard.Errors, dashboard.BaseUrl);
            await page.GotoAsync($"{baseUrl}/dashboard");
            await Assertions.Expect(page.Locator("#connection")).ToContainTextAsync("live");

            // A running run, cancelled from its detail: it ends aborted with the reason.
            var sleeping = (await (await http.PostAsJsonAsync("/tasks/sleep", new { ms = 60_000 })).Content.ReadFromJsonAsync<TaskRunEvent>())!;
            var row = page.Locator($"#runs tr[data-run='{sleeping.Id}']");
            await Assertions.Expect(row.Locator("td[data-field='state']")).ToHaveTextAsync("running");
            await row.ClickAsync();
            await page.Locator("#run-cancel").ClickAsync();
            await Assertions.Expect(page.Locator("#run-action-result")).ToContainTextAsync("cancel");
            await Assertions.Expect(row.Locator("td[data-field='state']")).ToHaveTextAsync("aborted");
            await Assertions.Expect(row.Locator("td[data-field='error']")).ToHaveTextAsync("cancelled: by request");

            // A failed run, requeued from its detail: a new run linked to it.
            var failing = (await (await http.PostAsJsonAsync("/tasks/dummy", new { sleep = 0, error = true })).Content.ReadFromJsonAsync<TaskRunEvent>())!;
            var failed = page.Locator($"#runs tr[data-run='{failing.Id}']");
            await Assertions.Expect(failed.Locator("td[data-field='state']")).ToHaveTextAsync("failure");
            await failed.ClickAsync();
            await Assertions.Expect(page.Locator("#run-requeue")).ToBeVisibleAsync();
            await page.Locator("#run-requeue").ClickAsync();
            await Assertions.Expect(page.Locator("#run-action-result")).ToContainTextAsync("requeued as ");
            var again = (await page.Locator("#run-action-result button").TextContentAsync())!;
            await Assertions.Expect(page.Locator($"#runs tr[data-run='{again}'] td[data-field='state']")).ToHaveTextAsync("failure");
            var rerun = (await http.GetFromJsonAsync<TaskRunEvent>($"/tasks-history/{again}"))!;
            Assert.Equal(failing.Id, rerun.FromRunId);

            // Pause, then resume, the worker group.
            await page.Locator("#pause-toggle").ClickAsync();
            await Assertions.Expect(page.Locator("#paused")).ToBeVisibleAsync();
            Assert.True((await http.GetFromJsonAsync<StatusView>("/tasks-status"))!.Paused);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("paused.png"), FullPage = true });
            await page.Locator("#pause-toggle").ClickAsync();
            await Assertions.Expect(page.Locator("#paused")).ToBeHiddenAsync();
            Assert.False((await http.GetFromJsonAsync<StatusView>("/tasks-status"))!.Paused);

            // The last hour's chart shows the runs that ended, by final state.
            await Assertions.Expect(page.Locator("#chart rect[data-state='failure']").First).ToBeAttachedAsync(new() { Timeout = 15_000 });
            await Assertions.Expect(page.Locator("#chart rect[data-state='aborted']").First).ToBeAttachedAsync();
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("control.png"), FullPage = true });
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }
        finally
        {
            await rabbit.DeleteQueuesAsync(queue);
        }
    }

    /// <summary>A worker serving the dashboard on a free port, and the page in Chromium, recording console errors not <paramref name="allowed"/>.</summary>
    private async Task<Dashboard> OpenAsync(string queue, Func<string, bool>? allowed = null)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/test.sh installs Debian's chromium");
        var baseUrl = $"http://127.0.0.1:{AppProcess.FreePort()}";
        var worker = await AppProcess.StartWorkerAsync(rabbit, queue,
            "--TaskBus:Store:Provider=PostgreSQL", $"--TaskBus:Store:ConnectionString={_postgres.ConnectionString}", $"--TaskBus:Http:Urls={baseUrl}");
        IPlaywright playwright;
        IBrowser browser;
        try
        {
            playwright = await Playwright.CreateAsync();
            browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        }
        catch
        {
            // No worker is left running when the browser cannot start.
            await worker.DisposeAsync();
            throw;
        }
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && allowed?.Invoke(message.Text) != true)
                errors.Add(message.Text);
        };
        page.PageError += (_, error) => errors.Add(error);
        return new Dashboard(worker, playwright, browser, page, new HttpClient { BaseAddress = new Uri(baseUrl) }, errors, baseUrl);
    }

    private sealed record Dashboard(AppProcess Worker, IPlaywright Playwright, IBrowser Browser, IPage Page, HttpClient Http, List<string> Errors, string BaseUrl)
        : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Browser.DisposeAsync();
            Playwright.Dispose();
            await Worker.DisposeAsync();
        }
    }

    private static string Shot(string name)
    {
        Directory.CreateDirectory(Screenshots);
        return Path.Combine(Screenshots, name);
    }

    private sealed record TaskInfoView(string Name, bool Enabled);

    private sealed record ErrorView(string Error);

    private sealed record StatusView(bool Paused);
}
