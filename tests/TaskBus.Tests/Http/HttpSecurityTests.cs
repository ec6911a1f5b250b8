using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskBus.Http;
using TaskBus.Worker.Tasks;

namespace TaskBus.Tests.Http;

/// <summary>The rule in front of the API and dashboard, on a real Kestrel server.</summary>
public sealed class HttpSecurityTests
{
    private const string Key = "s3cret-key-for-tests";

    [Fact]
    public async Task WithAnApiKey_RequestsWithoutOrWithAWrongKeyAre401_TheRightKeyPasses_HealthStaysOpen()
    {
        await using var app = await StartAsync("http://127.0.0.1:0", http => http.ApiKey = Key);
        using var client = app.Client();

        using var none = await client.GetAsync("/tasks");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("a valid X-Api-Key header is required", (await none.Content.ReadFromJsonAsync<ApiError>())!.Error);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(client, HttpMethod.Post, "/tasks/add", "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(client, HttpMethod.Get, "/tasks-events", Key[..^1])).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(client, HttpMethod.Get, "/tasks", Key)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task WithAnApiKey_TheDashboardSendsABrowserToSignIn_AndServesItWithTheCookieTheRightKeyGets()
    {
        await using var app = await StartAsync("http://127.0.0.1:0", http => http.ApiKey = Key);
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true };
        using var client = app.Client(handler);

        using var page = await client.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/dashboard/login", page.Headers.Location!.OriginalString);
        using var wrong = await client.PostAsync("/dashboard/login", new FormUrlEncodedContent([new("key", "nope")]));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("That key is not the one configured.", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var right = await client.PostAsync("/dashboard/login", new FormUrlEncodedContent([new("key", Key)]));
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Contains(right.Headers.GetValues("Set-Cookie"), c => c.Contains("httponly", StringComparison.OrdinalIgnoreCase) && c.Contains("samesite=strict", StringComparison.OrdinalIgnoreCase));

        using var signedIn = await client.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Equal("text/html", signedIn.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/tasks")).StatusCode);
    }

    [Fact]
    public async Task BoundBeyondLoopbackWithNothingGuardingIt_RefusesToStart_NamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync("http://0.0.0.0:0", _ => { }));
        Assert.Contains("http://0.0.0.0:0", error.Message, StringComparison.Ordinal);
        Assert.Contains("TaskBus:Http:ApiKey", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoundBeyondLoopbackWithAKey_Starts()
    {
        await using var app = await StartAsync("http://0.0.0.0:0", http => http.ApiKey = Key);
        using var client = app.Client();
        Assert.Equal(HttpStatusCode.OK, (await Send(client, HttpMethod.Get, "/tasks", Key)).StatusCode);
    }

    [Fact]
    public async Task AnAuthorizationPolicy_GuardsTheApi_AndLetsItListenBeyondLoopback()
    {
        await using var app = await StartAsync("http://0.0.0.0:0", http => http.AuthorizationPolicy = "ops", services =>
        {
            services.AddAuthentication(HeaderUserHandler.Name).AddScheme<AuthenticationSchemeOptions, HeaderUserHandler>(HeaderUserHandler.Name, null);
            services.AddAuthorization(o => o.AddPolicy("ops", p => p.RequireRole("ops")));
        });
        using var client = app.Client();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/tasks")).StatusCode);
        using var dev = new HttpRequestMessage(HttpMethod.Get, "/tasks") { Headers = { { "X-User", "dev" } } };
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(dev)).StatusCode);
        using var ops = new HttpRequestMessage(HttpMethod.Get, "/tasks") { Headers = { { "X-User", "ops" } } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(ops)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    private static async Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, string key)
    {
        using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Get ? null : JsonContent.Create(new { a = 1, b = 2 }) };
        request.Headers.Add("X-Api-Key", key);
        return await client.SendAsync(request);
    }

    private static async Task<RunningApp> StartAsync(string url, Action<TaskHttpOptions> http, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(url);
        builder.AddTaskBus(o =>
        {
            o.ScheduleTasks = false;
            http(o.Http);
        }).AddTasksFromAssembly(typeof(DummyTask).Assembly);
        builder.Services.AddTaskBusHttp();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapTaskBus();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new RunningApp(app);
    }

    private sealed class RunningApp(WebApplication app) : IAsyncDisposable
    {
        public HttpClient Client(HttpMessageHandler? handler = null)
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            // A wildcard binding is reached on loopback.
            return new HttpClient(handler ?? new HttpClientHandler()) { BaseAddress = new Uri($"http://127.0.0.1:{address.Port}") };
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Authenticates whoever names a role in <c>X-User</c>: the stand-in for a real scheme.</summary>
    private sealed class HeaderUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string Name = "header-user";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var role = Request.Headers["X-User"].ToString();
            if (role.Length == 0)
                return Task.FromResult(AuthenticateResult.NoResult());
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, role), new Claim(ClaimTypes.Role, role)], Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Name)));
        }
    }
}
