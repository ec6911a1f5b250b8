using System.Net.Http.Headers;
using System.Text;
using RabbitMQ.Client;
using TaskBus.Configuration;

namespace TaskBus.RabbitMq;

/// <summary>A client of RabbitMQ's management API: <c>TaskBus:RabbitMQ:ManagementUrl</c>, else port 15672 of the broker's host, with the credentials of the AMQP URL.</summary>
internal static class RabbitMqManagement
{
    /// <summary>A client whose base address is the API's root; its requests give up after 3 s.</summary>
    public static HttpClient CreateClient(RabbitMqOptions options)
    {
        var factory = new ConnectionFactory { Uri = new Uri(options.Url) };
        var root = string.IsNullOrEmpty(options.ManagementUrl)
            ? new Uri($"http://{factory.HostName}:15672/")
            : new Uri(options.ManagementUrl.EndsWith('/') ? options.ManagementUrl : options.ManagementUrl + "/");
        var http = new HttpClient { BaseAddress = root, Timeout = TimeSpan.FromSeconds(3) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{factory.UserName}:{factory.Password}")));
        return http;
    }
}

/// <summary>The management API of the broker, and the vhost as its paths name it (escaped).</summary>
internal sealed record ManagementApi(HttpClient Http, string Vhost);
