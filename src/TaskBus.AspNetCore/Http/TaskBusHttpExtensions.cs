using System.Text.Json;
using HealthChecks.UI.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TaskBus.Client;
using TaskBus.Configuration;
using TaskBus.Contracts;
using TaskBus.Http.Dashboard;
using TaskBus.Http.Security;
using TaskBus.Runs;
using TaskBus.Serialization;
using TaskBus.Storage;
using TaskBus.Tasks;

namespace TaskBus.Http;

/// <summary>TaskBus on ASP.NET Core: the HTTP API of aio-fluid's task app, the dashboard and the health endpoints.</summary>
public static class TaskBusHttpExtensions
{
    /// <summary>
    /// Adds what <see cref="MapTaskBus"/> needs: JSON settings, an OpenAPI document, the dashboard's event
    /// stream, and the start-up rule that refuses to listen beyond loopback unguarded.
    /// </summary>
    public static IServiceCollection AddTaskBusHttp(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new TaskBusJson.UtcTimestampConverter()));
        services.AddOpenApi(o => TaskBusOpenApi.Configure(o));
        services.AddSingleton<TaskEventHub>();
        services.AddSingleton(sp => new TaskBusAccess(sp.GetRequiredService<IOptions<TaskBusOptions>>().Value.Http));
        services.AddTransient<IStartupFilter, TaskBusBindCheck>();
        services.AddTransient<IStartupFilter, ErrorBodies>();
        return services;
    }

    /// <summary>
    /// Maps the task routes, the dashboard (<c>/dashboard</c>), the live event stream (<c>/tasks-events</c>)
    /// and the OpenAPI document (<c>/openapi/v1.json</c>), all behind one rule (<see cref="TaskHttpOptions"/>:
    /// the API key, the authorization policy, or loopback only); and <c>/health/live</c>, <c>/health/ready</c>,
    /// open to probes. Returns the guarded group, for more conventions.
    /// </summary>
    public static RouteGroupBuilder MapTaskBus(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var http = endpoints.ServiceProvider.GetRequiredService<IOptions<TaskBusOptions>>().Value.Http;
        var access = endpoints.ServiceProvider.GetRequiredService<TaskBusAccess>();

        // Open: what a load balancer or an orchestrator probes. Live: the process answers. Ready: bus, store, scheduler.
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = UIResponseWriter.WriteHealthCheckUIResponse });
        // Degraded is not ready: MassTransit reports a bus whose task endpoint is faulted as degraded.
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains("ready"),
            ResponseWriter = UIResponseWriter.WriteHealthCheckUIResponse,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        if (access.RequiresKey)
        {
            endpoints.MapGet("/dashboard/login", (HttpContext context) => DashboardAssets.Serve(context, "login.html")).ExcludeFromDescription();
            endpoints.MapPost("/dashboard/login", SignInAsync).ExcludeFromDescription().DisableAntiforgery();
        }

        var api = endpoints.MapGroup("").WithTags("TaskBus").WithMetadata(new TaskBusEndpoint(http.MaxRequestBodySize));
        api.AddEndpointFilter(async (context, next) =>
        {
            if (access.Refuse(context.HttpContext) is not { } status)
                return await next(context);
            // A browser opening the dashboard without the key is sent to its sign-in form.
            if (status == StatusCodes.Status401Unauthorized && context.HttpContext.Request.Path.StartsWithSegments("/dashboard", StringComparison.Ordinal)
                && HttpMethods.IsGet(context.HttpContext.Request.Method))
                return Results.Redirect($"{context.HttpContext.Request.PathBase}/dashboard/login");
            return TypedResults.Json(new ApiError(status == StatusCodes.Status401Unauthorized
                ? $"a valid {TaskBusAccess.HeaderName} header is required"
                : "TaskBus HTTP serves loopback only while no API key or authorization policy is set"), statusCode: status);
        });
        if (!string.IsNullOrEmpty(http.AuthorizationPolicy))
            api.RequireAuthorization(http.AuthorizationPolicy);

        api.MapGet("/tasks", ListTasksAsync).WithSummary("Task infos, optionally only those with any of the tags");
        api.MapGet("/tasks/{name}", GetTaskAsync).WithSummary("One task info");
        api.MapPatch("/tasks/{name}", PatchTaskAsync).WithSummary("Enable or disable a task; a field it does not know, or a value of the wrong type, is a 422")
            .Accepts<TaskPatch>("application/json").Produces<ApiError>(StatusCodes.Status415UnsupportedMediaType);
        api.MapPost("/tasks/{name}", QueueAsync)
            .WithSummary("Queue a run; the body is its params (none: the task's defaults); uniqueKey: while a run of the task with this key is queued or running, "
                + "that run is returned with deduplicated true and nothing is queued; expires (30s, 5m, …): a worker that receives it later ends it aborted; "
                + "delay (30s, 5m, …) or at (ISO 8601): the run waits in the store, queued, until then; "
                + "422 when they do not fit, 415 when not JSON, 503 when the broker did not take it")
            .Produces<ApiError>(StatusCodes.Status415UnsupportedMediaType).Produces<ApiError>(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/tasks-status", StatusAsync).WithSummary("Live workers, and the runs waiting in the queue in all and per priority");
        api.MapDelete("/tasks-queue", (TaskManager manager, CancellationToken ct) => ClearQueueAsync(null, manager, ct))
            .WithSummary("Remove every run waiting in the queue; each ends aborted")
            .Produces<ApiError>(StatusCodes.Status501NotImplemented).Produces<ApiError>(StatusCodes.Status503ServiceUnavailable);
        api.MapDelete("/tasks-queue/{priority}", ClearQueueAsync)
            .WithSummary("Remove the runs of one priority (high, medium, low) waiting in the queue; each ends aborted")
            .Produces<ApiError>(StatusCodes.Status501NotImplemented).Produces<ApiError>(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/tasks-queue/pause", (TaskManager manager, CancellationToken ct) => PauseAsync(true, manager, ct))
            .WithSummary("Pause the worker group: within a second its workers take no new run, let the running ones finish and hand back what they held; runs wait in the queue");
        api.MapPost("/tasks-queue/resume", (TaskManager manager, CancellationToken ct) => PauseAsync(false, manager, ct))
            .WithSummary("Resume the worker group: within a second its workers take runs again");
        api.MapGet("/tasks-errors", ListErrorsAsync)
            .WithSummary("The runs waiting in the error queue (<queue>_error), oldest first: run id, task, reason, when; listing changes nothing")
            .Produces<ApiError>(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/tasks-errors/requeue", RequeueErrorsAsync)
            .WithSummary("Queue again the runs of the error queue named in the body's runIds (or all, with {\"all\": true}); each is a new run whose fromRunId is the failed one, and its message leaves the error queue")
            .Produces<ApiError>(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/tasks-errors/discard", DiscardErrorsAsync)
            .WithSummary("Delete the messages of the error queue named in the body's runIds (or all, with {\"all\": true})")
            .Produces<ApiError>(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/tasks-history", HistoryAsync).WithSummary("Stored runs, newest first, paged by cursor; queue: only that worker group's (and runs stored before runs kept their group)");
        api.MapGet("/tasks-history/{id}", GetRunAsync).WithSummary("One stored run");
        api.MapGet("/tasks-stats", StatsAsync)
            .WithSummary("Runs that ended in the last minutes (default 60), per minute and final state: what the dashboard's chart draws");
        api.MapGet("/tasks-delayed", ListDelayedAsync)
            .WithSummary("Delayed runs waiting in the store, earliest due first: run id, task, due time (their history shows them queued, with due)");
        api.MapPost("/tasks-history/{id}/requeue", RequeueRunAsync)
            .WithSummary("Queue a run that has ended again: a new run, same task and params, fromRunId this one (200); still queued or running, "
                + "params holding a secret (stored masked), or a task this process does not know: 409 with the reason; unknown: 404");
        api.MapPost("/tasks-history/requeue", RequeueRunsAsync)
            .WithSummary("Queue again every run of the history the filters match (task, state, start, end; newest first, up to limit, default 100): "
                + "each a new run whose fromRunId is the old one; dryRun=true only says which would be (requeued counts them)");
        api.MapPost("/tasks-history/{id}/cancel", CancelAsync)
            .WithSummary("Cancel a run, with an optional reason: queued, it ends aborted now (200) and never starts; running, its worker stops it (202, "
                + "it ends aborted); ended, 409 with its state; unknown, 404. Needs the PostgreSQL store to reach other processes");
        api.MapGet("/tasks-events", TaskEventStream.WriteAsync)
            .WithSummary("Task run events as they happen (Server-Sent Events, one JSON TaskRunEvent each)")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
        // Routing ignores a trailing slash; the page's relative links need it.
        api.MapGet("/dashboard/{file?}", (HttpContext context, string? file) => file is null && !context.Request.Path.Value!.EndsWith('/')
            ? Results.Redirect($"{context.Request.PathBase}{context.Request.Path}/")
            : DashboardAssets.Serve(context, file ?? "index.html")).ExcludeFromDescription();
        api.MapOpenApi();
        return api;
    }

    private static async Task<IResult> SignInAsync(HttpContext context, TaskBusAccess access)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var key = form["key"].ToString();
        if (!access.IsValidKey(key))
        {
            return Results.Content(DashboardAssets.Text("login.html").Replace("<!--error-->", "That key is not the one configured.", StringComparison.Ordinal), "text/html; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
        }
        context.Response.Cookies.Append(TaskBusAccess.CookieName, key, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = string.IsNullOrEmpty(context.Request.PathBase) ? "/" : context.Request.PathBase.ToString(),
        });
        return Results.Redirect($"{context.Request.PathBase}/dashboard/");
    }

    private static async Task<Ok<TaskInfo[]>> ListTasksAsync(string[]? tags, TaskManager manager, ITaskStore store, CancellationToken cancellationToken)
    {
        var infos = new List<TaskInfo>();
        foreach (var task in manager.Registry.Where(t => tags is not { Length: > 0 } || tags.Any(t.Tags.Contains)))
            infos.Add(await InfoAsync(task, store, cancellationToken));
        return TypedResults.Ok(infos.ToArray());
    }

    private static async Task<Results<Ok<TaskInfo>, NotFound<ApiError>>> GetTaskAsync(string name, TaskManager manager, ITaskStore store, CancellationToken cancellationToken) =>
        manager.Registry.TryGet(name, out var task)
            ? TypedResults.Ok(await InfoAsync(task, store, cancellationToken))
            : NotFound(name);

    private static async Task<Results<Ok<TaskInfo>, NotFound<ApiError>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> PatchTaskAsync(
        string name, HttpRequest request, TaskManager manager, ITaskStore store, CancellationToken cancellationToken)
    {
        if (!manager.Registry.TryGet(name, out var task))
            return NotFound(name);
        if (await BodyAsync(request, cancellationToken) is not { } body)
            return TooLarge(request);
        if (body.Length > 0 && !request.HasJsonContentType())
            return NotJson(request);
        bool? enabled = null;
        try
        {
            if (body.Length > 0)
            {
                var patch = ParseJson(body);
                if (patch.ValueKind != JsonValueKind.Object)
                    throw new ArgumentException("the body must be a JSON object such as {\"enabled\":false}");
                foreach (var field in patch.EnumerateObject())
                {
                    if (!string.Equals(field.Name, "enabled", StringComparison.OrdinalIgnoreCase))
                        throw new ArgumentException($"unknown field '{field.Name}'; the field is enabled");
                    enabled = field.Value.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        JsonValueKind.Null => null,
                        _ => throw new ArgumentException($"enabled must be true or false, not {field.Value.GetRawText()}"),
                    };
                }
            }
        }
        catch (ArgumentException ex)
        {
            return TypedResults.UnprocessableEntity(new ApiError(UserText.Of(ex)));
        }
        if (enabled is { } value)
            await store.SetEnabledAsync(name, value, cancellationToken);
        return TypedResults.Ok(await InfoAsync(task, store, cancellationToken));
    }

    private static async Task<Results<Ok<QueuedRun>, NotFound<ApiError>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> QueueAsync(
        string name, HttpRequest request, string? priority, string? uniqueKey, string? expires, string? delay, string? at, TaskManager manager, ITaskStore store,
        CancellationToken cancellationToken)
    {
        if (!manager.Registry.Contains(name))
            return NotFound(name);
        // No body: the task's default params.
        if (await BodyAsync(request, cancellationToken) is not { } body)
            return TooLarge(request);
        if (body.Length > 0 && !request.HasJsonContentType())
            return NotJson(request);
        TaskRun run;
        QueueOptions options;
        try
        {
            JsonElement? parameters = body.Length > 0 ? ParseJson(body) : null;
            TaskPriority? runPriority = priority is null ? null : TaskStateExtensions.ParsePriority(priority);
            run = manager.CreateTaskRun(name, parameters, priority: runPriority);
            options = new QueueOptions
            {
                UniqueKey = uniqueKey is null ? null : uniqueKey.Length > 0 ? uniqueKey : throw new ArgumentException("uniqueKey cannot be empty"),
                Expires = expires is null ? null : Durations.Parse(expires, "expires"),
                Delay = delay is null ? null : Durations.Parse(delay, "delay"),
                At = at is null ? null : Timestamp("at", at),
            };
        }
        catch (Exception ex) when (ex is TaskParamsException or ArgumentException or JsonException)
        {
            return TypedResults.UnprocessableEntity(new ApiError(UserText.Of(ex)));
        }
        try
        {
            run = await manager.QueueAsync(run, options, cancellationToken);
        }
        catch (TaskQueueException ex)
        {
            // The broker did not take the run (nothing was queued), or did not confirm it in time (it may yet be
            // queued, under the id the message gives): the caller may try again.
            return TypedResults.Json(new ApiError(UserText.Of(ex)), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            // A delay with a store nobody sends from, an option out of range.
            return TypedResults.UnprocessableEntity(new ApiError(UserText.Of(ex)));
        }
        catch (Exception ex) when (store.IsUnreachable(ex))
        {
            return StoreAway(ex);
        }
        return TypedResults.Ok(QueuedRun.Of(run));
    }

    private static async Task<Results<Ok<MinuteCount[]>, UnprocessableEntity<ApiError>>> StatsAsync(string? minutes, ITaskStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var span = 60;
        if (minutes is not null && (!int.TryParse(minutes, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out span) || span is < 1 or > 1440))
            return TypedResults.UnprocessableEntity(new ApiError($"minutes must be a whole number between 1 and 1440, not '{minutes}'"));
        var now = time.GetUtcNow();
        var from = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddMinutes(1 - span);
        var counts = await store.CountEndedPerMinuteAsync(from, cancellationToken);
        return TypedResults.Ok(counts.Select(c => new MinuteCount(c.Minute, c.State.ToWire(), c.Count)).ToArray());
    }

    private static async Task<Results<Ok<DelayedInfo[]>, UnprocessableEntity<ApiError>>> ListDelayedAsync(
        string? limit, ITaskStore store, TaskManager manager, CancellationToken cancellationToken)
    {
        var size = 100;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size) || size is < 1 or > 1000))
            return TypedResults.UnprocessableEntity(new ApiError($"limit must be a whole number between 1 and 1000, not '{limit}'"));
        var delayed = await store.ListDelayedAsync(manager.Options.QueueName, size, cancellationToken);
        return TypedResults.Ok(delayed.Select(d => new DelayedInfo(d.RunId, d.Task, d.Due)).ToArray());
    }

    private static async Task<Results<Ok<TaskRunEvent>, Accepted<TaskRunEvent>, NotFound<ApiError>, Conflict<ApiError>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> CancelAsync(
        string id, string? reason, TaskManager manager, ITaskStore store, CancellationToken cancellationToken)
    {
        CancelOutcome outcome;
        try
        {
            outcome = await manager.CancelAsync(id, reason, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            return TypedResults.UnprocessableEntity(new ApiError(UserText.Of(ex)));
        }
        catch (Exception ex) when (store.IsUnreachable(ex))
        {
            return StoreAway(ex);
        }
        return outcome.Result switch
        {
            CancelResult.Cancelled => TypedResults.Ok(outcome.Run!),
            CancelResult.Stopping => TypedResults.Accepted((string?)null, outcome.Run!),
            CancelResult.Ended => TypedResults.Conflict(new ApiError($"run {outcome.RunId} has ended already: {outcome.Run!.State.ToWire()}")),
            _ => TypedResults.NotFound(new ApiError($"run {outcome.RunId} not found")),
        };
    }

    private static async Task<Ok<TasksStatus>> StatusAsync(ITaskStore store, TaskManager manager, TimeProvider time, CancellationToken cancellationToken)
    {
        var queue = await manager.GetQueueStatusAsync(cancellationToken);
        return TypedResults.Ok(new TasksStatus
        {
            Workers = await store.GetWorkersAsync(time.GetUtcNow() - WorkerHeartbeat.Ttl, cancellationToken),
            QueueLength = queue.Length,
            Queue = queue,
            Paused = await manager.IsPausedAsync(cancellationToken),
            History = await store.GetHistorySizeAsync(cancellationToken) is { } size
                ? new HistoryStatus(size.Runs, size.Oldest, manager.Options.Store.Retention, manager.Options.Store.FailureRetention ?? manager.Options.Store.Retention)
                : null,
        });
    }

    private static async Task<Ok<QueuePause>> PauseAsync(bool paused, TaskManager manager, CancellationToken cancellationToken)
    {
        if (paused)
            await manager.PauseAsync(cancellationToken);
        else
            await manager.ResumeAsync(cancellationToken);
        return TypedResults.Ok(new QueuePause(manager.Options.QueueName, paused));
    }

    private static async Task<Results<Ok<QueueCleared>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> ClearQueueAsync(
        string? priority, TaskManager manager, CancellationToken cancellationToken)
    {
        TaskPriority? cleared = null;
        if (priority is not null)
        {
            if (!TaskStateExtensions.TryParsePriority(priority, out var parsed))
                return TypedResults.UnprocessableEntity(new ApiError($"priority '{priority}' is not high, medium or low"));
            cleared = parsed;
        }
        try
        {
            var removed = await manager.ClearQueueAsync(cleared, cancellationToken);
            return TypedResults.Ok(new QueueCleared(manager.Options.QueueName, cleared?.ToWire(), removed));
        }
        catch (NotSupportedException ex)
        {
            return TypedResults.Json(new ApiError(UserText.Of(ex)), statusCode: StatusCodes.Status501NotImplemented);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return TypedResults.Json(new ApiError($"queue {manager.Options.QueueName} could not be cleared: {ex.Message}"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static async Task<Results<Ok<IReadOnlyList<FailedMessage>>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> ListErrorsAsync(
        int? limit, TaskManager manager, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 10_000)
            return TypedResults.UnprocessableEntity(new ApiError($"limit {limit} is not between 1 and 10000"));
        return await OnErrorQueueAsync(manager, () => manager.ListErrorsAsync(limit ?? 100, cancellationToken));
    }

    private static Task<Results<Ok<IReadOnlyList<RequeueOutcome>>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> RequeueErrorsAsync(
        [Microsoft.AspNetCore.Mvc.FromBody(EmptyBodyBehavior = Microsoft.AspNetCore.Mvc.ModelBinding.EmptyBodyBehavior.Allow)] ErrorSelection? selection,
        TaskManager manager, CancellationToken cancellationToken) =>
        OnErrorQueueAsync(manager, selection, runIds => manager.RequeueErrorsAsync(runIds, cancellationToken));

    private static Task<Results<Ok<IReadOnlyList<FailedMessage>>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> DiscardErrorsAsync(
        [Microsoft.AspNetCore.Mvc.FromBody(EmptyBodyBehavior = Microsoft.AspNetCore.Mvc.ModelBinding.EmptyBodyBehavior.Allow)] ErrorSelection? selection,
        TaskManager manager, CancellationToken cancellationToken) =>
        OnErrorQueueAsync(manager, selection, runIds => manager.DiscardErrorsAsync(runIds, cancellationToken));

    /// <summary>
    /// An action on some or all of the error queue: a selection naming neither run ids nor <c>all</c> (or both), or a
    /// run id that is no id, is a 422; a broker that does not answer a 503.
    /// </summary>
    private static Task<Results<Ok<T>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> OnErrorQueueAsync<T>(
        TaskManager manager, ErrorSelection? selection, Func<IReadOnlyCollection<string>?, Task<T>> action)
    {
        if (selection is null || (selection.RunIds is not { Count: > 0 }) == !selection.All)
        {
            return Task.FromResult<Results<Ok<T>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>>(
                TypedResults.UnprocessableEntity(new ApiError("name the failed runs in runIds, or set all to true (not both)")));
        }
        return OnErrorQueueAsync(manager, () => action(selection.All ? null : selection.RunIds));
    }

    /// <summary>An action on the error queue: a run id that is no id is a 422, a broker that does not answer a 503.</summary>
    private static async Task<Results<Ok<T>, UnprocessableEntity<ApiError>, JsonHttpResult<ApiError>>> OnErrorQueueAsync<T>(TaskManager manager, Func<Task<T>> action)
    {
        try
        {
            return TypedResults.Ok(await action());
        }
        catch (ArgumentException ex)
        {
            return TypedResults.UnprocessableEntity(new ApiError(UserText.Of(ex)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return TypedResults.Json(
                new ApiError($"the error queue of {manager.Options.QueueName} could not be read: {ex.Message}"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static readonly string[] HistoryFilters = ["task", "tags", "state", "start", "end", "params", "queue", "limit", "cursor"];

    private static readonly string[] RequeueFilters = ["task", "state", "start", "end", "limit", "dryRun"];

    private static async Task<Results<Ok<RequeueOutcome>, NotFound<ApiError>, Conflict<RequeueOutcome>, UnprocessableEntity<ApiError>>> RequeueRunAsync(
        string id, TaskManager manager, CancellationToken cancellationToken)
    {
        RequeueOutcome? outcome;
        try
        {
            outcome = await manager.RequeueAsync(id, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            return TypedResults.UnprocessableEntity(new ApiError(UserText.Of(ex)));
        }
        if (outcome is null)
            return TypedResults.NotFound(new ApiError($"run {id} not found"));
        return outcome.NewRunId is null ? TypedResults.Conflict(outcome) : TypedResults.Ok(outcome);
    }

    private static async Task<Results<Ok<RequeueReport>, UnprocessableEntity<ApiError>>> RequeueRunsAsync(
        string? task, string? state, string? start, string? end, string? limit, string? dryRun, HttpRequest request, TaskManager manager, CancellationToken cancellationToken)
    {
        RunFilter filter;
        bool dry;
        try
        {
            if (request.Query.Keys.FirstOrDefault(k => !RequeueFilters.Contains(k, StringComparer.Ordinal)) is { } unknown)
                throw new ArgumentException($"unknown filter '{unknown}'; the filters are {string.Join(", ", RequeueFilters)}");
            var size = 100;
            if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size) || size is < 1 or > 100_000))
                throw new ArgumentException($"limit must be a whole number between 1 and 100000, not '{limit}'");
            dry = dryRun is null ? false : bool.TryParse(dryRun, out var parsed) ? parsed : throw new ArgumentException($"dryRun must be true or false, not '{dryRun}'");
            if (task is not null && !manager.Registry.Contains(task))
                throw new ArgumentException($"Task {task} not found");
            filter = new RunFilter
            {
                Task = task,
                State = state is null ? null : TaskStateExtensions.ParseState(state),
                From = Timestamp("start", start),
                To = Timestamp("end", end),
                Limit = size,
            };
        }
        catch (ArgumentException ex)
        {
            return TypedResults.UnprocessableEntity(new ApiError(UserText.Of(ex)));
        }
        var outcomes = await manager.RequeueRunsAsync(filter, dry, cancellationToken);
        return TypedResults.Ok(new RequeueReport(
            dry, outcomes.Count, dry ? outcomes.Count(o => o.Error is null) : outcomes.Count(o => o.NewRunId is not null), outcomes));
    }

    private static async Task<Results<Ok<TaskRunPage>, UnprocessableEntity<ApiError>>> HistoryAsync(
        string? task, string[]? tags, string? state, string? start, string? end, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "params")] string? parameters, string? queue, string? limit, string? cursor,
        HttpRequest request, TaskManager manager, ITaskStore store, CancellationToken cancellationToken)
    {
        try
        {
            // A filter this API does not know would otherwise be ignored, and the answer look filtered.
            if (request.Query.Keys.FirstOrDefault(k => !HistoryFilters.Contains(k, StringComparer.Ordinal)) is { } unknown)
                throw new ArgumentException($"unknown filter '{unknown}'; the filters are {string.Join(", ", HistoryFilters)}");
            var size = 50;
            if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size) || size is < 1 or > 1000))
                throw new ArgumentException($"limit must be a whole number between 1 and 1000, not '{limit}'");
            var query = new TaskRunQuery
            {
                Task = task,
                // Tags belong to tasks: a run matches when its task carries any of them.
                Tasks = tags is { Length: > 0 } ? [.. manager.Registry.Where(t => tags.Any(t.Tags.Contains)).Select(t => t.Name)] : null,
                State = state is null ? null : TaskStateExtensions.ParseState(state),
                From = Timestamp("start", start),
                To = Timestamp("end", end),
                Params = parameters is null ? null : ParamsPattern(parameters),
                Queue = string.IsNullOrEmpty(queue) ? null : queue,
                Limit = size,
                Cursor = cursor,
            };
            if (query.From > query.To)
                throw new ArgumentException($"start ({start}) is after end ({end})");
            return TypedResults.Ok(await store.QueryRunsAsync(query, cancellationToken));
        }
        catch (ArgumentException ex)
        {
            return TypedResults.UnprocessableEntity(new ApiError(UserText.Of(ex)));
        }
    }

    private static DateTimeOffset? Timestamp(string name, string? value) =>
        value is null ? null
        : DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at
        : throw new ArgumentException($"{name} must be an ISO 8601 time such as 2026-11-28T12:00:00Z, not '{value}'");

    private static JsonElement ParamsPattern(string value)
    {
        try
        {
            var pattern = JsonSerializer.Deserialize<JsonElement>(value);
            return pattern.ValueKind == JsonValueKind.Object
                ? pattern
                : throw new ArgumentException($"params must be a JSON object such as {{\"a\":1}}, not {pattern.ValueKind.ToString().ToLowerInvariant()}");
        }
        catch (JsonException)
        {
            throw new ArgumentException($"params must be a JSON object such as {{\"a\":1}}, not '{value}'");
        }
    }

    private static async Task<Results<Ok<TaskRunEvent>, NotFound<ApiError>>> GetRunAsync(string id, ITaskStore store, CancellationToken cancellationToken) =>
        await store.GetRunAsync(id, cancellationToken) is { } run
            ? TypedResults.Ok(run)
            : TypedResults.NotFound(new ApiError($"Run {id} not found"));

    /// <summary>503: the store did not answer; the caller may try again.</summary>
    private static JsonHttpResult<ApiError> StoreAway(Exception ex) =>
        TypedResults.Json(new ApiError($"the task store cannot be reached: {ex.Message}"), statusCode: StatusCodes.Status503ServiceUnavailable);

    private static NotFound<ApiError> NotFound(string task) => TypedResults.NotFound(new ApiError($"Task {task} not found"));

    /// <summary>
    /// A request's body, empty when it has none; null when it is over the limit (the server stops reading it there, or
    /// before reading at all when the request says its length).
    /// </summary>
    private static async Task<byte[]?> BodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = request.HttpContext.GetEndpoint()?.Metadata.GetMetadata<TaskBusEndpoint>()?.MaxRequestBodySize;
        if (request.ContentLength > limit)
            return null;
        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        // A server that does not enforce the limit itself (a test server): the same answer once read.
        return buffer.Length > limit ? null : buffer.ToArray();
    }

    private static JsonHttpResult<ApiError> TooLarge(HttpRequest request) => TypedResults.Json(
        new ApiError($"the body is over {request.HttpContext.GetEndpoint()?.Metadata.GetMetadata<TaskBusEndpoint>()?.MaxRequestBodySize} bytes, the limit of TaskBus:Http:MaxRequestBodySize"),
        statusCode: StatusCodes.Status413PayloadTooLarge);

    /// <summary>A body that says it is JSON; one that does not read is the caller's mistake, said as such.</summary>
    private static JsonElement ParseJson(byte[] body)
    {
        try
        {
            return JsonSerializer.Deserialize<JsonElement>(body);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"the body is not JSON: {UserText.Json(ex)}", ex);
        }
    }

    /// <summary>A body that is not JSON is refused as such, not read as no params.</summary>
    private static JsonHttpResult<ApiError> NotJson(HttpRequest request) => TypedResults.Json(
        new ApiError($"the body must be JSON (Content-Type: application/json), not {(string.IsNullOrEmpty(request.ContentType) ? "without a content type" : $"'{request.ContentType}'")}"),
        statusCode: StatusCodes.Status415UnsupportedMediaType);

    private static async Task<TaskInfo> InfoAsync(TaskDescriptor task, ITaskStore store, CancellationToken cancellationToken)
    {
        var stored = await store.GetTaskAsync(task.Name, cancellationToken);
        return new TaskInfo
        {
            Name = task.Name,
            Description = task.Description,
            Priority = task.Priority,
            Schedule = task.Schedule?.ToString(),
            Tags = [.. task.Tags.Order(StringComparer.Ordinal)],
            Enabled = stored.Enabled,
            LastRunEnd = stored.LastRunEnd,
            LastRunDuration = stored.LastRunDurationMs,
            LastRunState = stored.LastRunState,
        };
    }
}
