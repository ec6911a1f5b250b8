using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using TaskBus.Contracts;

namespace TaskBus.Http.Dashboard;

/// <summary>
/// <c>GET /tasks-events</c>: task run events as Server-Sent Events, one JSON <c>TaskRunEvent</c> per message, and
/// progress reports as events named <c>progress</c> (one JSON <c>TaskRunProgress</c> each).
/// Only this worker group's runs, unless <c>?all=true</c>: every group publishes to the same exchanges.
/// The response starts once the subscription is in place, so a client that saw it open misses nothing after;
/// a comment every 15 s keeps proxies from closing an idle stream.
/// </summary>
internal static class TaskEventStream
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] ProgressPrefix = "event: progress\ndata: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    public static async Task WriteAsync(HttpContext context, TaskEventHub hub, IOptions<JsonOptions> json, bool? all)
    {
        var cancellationToken = context.RequestAborted;
        await using var subscription = await hub.SubscribeAsync(all ?? false, cancellationToken);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.WriteAsync(": subscribed\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
        var options = json.Value.SerializerOptions;
        try
        {
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                idle.CancelAfter(KeepAlive);
                bool more;
                try
                {
                    more = await subscription.Reader.WaitToReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", cancellationToken);
                    await response.Body.FlushAsync(cancellationToken);
                    continue;
                }
                if (!more)
                    return;
                while (subscription.Reader.TryRead(out var evt))
                {
                    // A progress report is an event of its own type: a page that only knows run events ignores it.
                    await response.Body.WriteAsync(evt is TaskRunProgress ? ProgressPrefix : DataPrefix, cancellationToken);
                    await JsonSerializer.SerializeAsync(response.Body, evt, evt.GetType(), options, cancellationToken);
                    await response.Body.WriteAsync(EventEnd, cancellationToken);
                }
                await response.Body.FlushAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The page went away.
        }
    }
}
