using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Options;
using TaskBus.Configuration;

namespace TaskBus.Http.Security;

/// <summary>
/// Refuses to start a server that listens beyond loopback while nothing guards the API and dashboard.
/// Runs as the pipeline is built: after the server knows its configured addresses, before it listens.
/// </summary>
internal sealed class TaskBusBindCheck(IServer server, IOptions<TaskBusOptions> options) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        var http = options.Value.Http;
        var open = server.Features.Get<IServerAddressesFeature>()?.Addresses.Where(a => !TaskBusAccess.IsLoopbackUrl(a)).ToList() ?? [];
        if (open.Count > 0 && !http.IsGuarded)
            throw new InvalidOperationException(
                $"TaskBus HTTP would listen on {string.Join(", ", open)}, beyond loopback, with nothing guarding it: " +
                "set TaskBus:Http:ApiKey (clients send it as the X-Api-Key header) or TaskBus:Http:AuthorizationPolicy, or listen on 127.0.0.1 only.");
        next(app);
    };
}
