using System.Net;
using System.Net.Sockets;

namespace TaskBus.IntegrationTests.Support;

/// <summary>
/// A TCP proxy in front of a real server, that a test can cut: while cut, every open connection is reset and every
/// new one is closed at once, as when the server goes away; restored, new connections reach the server again. Other
/// tests keep using the server directly, undisturbed.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly Lock _lock = new();
    private readonly List<Socket> _open = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    private TcpProxy(string host, int port)
    {
        _host = host;
        _port = port;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The loopback port the proxy listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted while cut, and closed at once.</summary>
    public int Refused { get; private set; }

    public static TcpProxy Start(string host, int port) => new(host, port);

    /// <summary>How many times the proxy was cut.</summary>
    public int Cuts { get; private set; }

    /// <summary>The server goes away: open connections are reset, new ones closed.</summary>
    public void Cut()
    {
        Cuts++;
        _cut = true;
        lock (_lock)
        {
            foreach (var socket in _open)
                Reset(socket);
            _open.Clear();
        }
    }

    /// <summary>The server is back for new connections.</summary>
    public void Restore() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _cut = true;
        lock (_lock)
        {
            foreach (var socket in _open)
                Reset(socket);
            _open.Clear();
        }
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (_cut)
            {
                Refused++;
                Reset(client);
                continue;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await server.ConnectAsync(_host, _port);
        }
        catch (SocketException)
        {
            Reset(client);
            server.Dispose();
            return;
        }
        lock (_lock)
        {
            if (_cut)
            {
                Reset(client);
                Reset(server);
                return;
            }
            _open.Add(client);
            _open.Add(server);
        }
        await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
        lock (_lock)
        {
            _open.Remove(client);
            _open.Remove(server);
        }
        Reset(client);
        Reset(server);
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                    return;
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            // Linger 0: the peer sees a reset, as from a server that died, not an orderly close.
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }
}
