using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using TaskBus.Configuration;

namespace TaskBus.Http;

/// <summary>Marks TaskBus's own routes: their refusals get a JSON body, and their bodies the size limit.</summary>
internal sealed class TaskBusEndpoint(long maxRequestBodySize) : IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize { get; } = maxRequestBodySize;
}

/// <summary>
/// Every 4xx of a TaskBus route carries <c>{"error": …}</c>: also those ASP.NET Core answers before a route's code runs
/// (a body over the limit, a query value that does not bind, a method the route does not take), which it sends empty.
/// </summary>
internal sealed class ErrorBodies(IOptions<TaskBusOptions> options) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            await nextMiddleware(context);
            var response = context.Response;
            if (response.StatusCode is < 400 or > 499 || response.HasStarted || response.ContentLength is not null || response.ContentType is not null
                || !IsTaskBus(context))
                return;
            response.ContentType = "application/json; charset=utf-8";
            await JsonSerializer.SerializeAsync(response.Body, new ApiError(Reason(response.StatusCode)), JsonSerializerOptions.Web, context.RequestAborted);
        });
        next(app);
    };

    /// <summary>
    /// A TaskBus route; or, for a method no route takes (routing answers 405 from an endpoint of its own), a path of
    /// TaskBus's (<c>/tasks…</c>).
    /// </summary>
    private static bool IsTaskBus(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<TaskBusEndpoint>() is not null
        || (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed
            && context.Request.Path.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries).Any(s => s.StartsWith("tasks", StringComparison.Ordinal)) == true);

    private string Reason(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge =>
            $"the body is over {options.Value.Http.MaxRequestBodySize} bytes, the limit of TaskBus:Http:MaxRequestBodySize",
        StatusCodes.Status400BadRequest => "the request could not be read: a query value or the body does not fit this route (see /openapi/v1.json)",
        StatusCodes.Status405MethodNotAllowed => "this route does not take that method",
        StatusCodes.Status415UnsupportedMediaType => "the body must be JSON (Content-Type: application/json)",
        _ => $"refused ({status})",
    };
}
