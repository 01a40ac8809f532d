using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Aurora.Testing;

/// <summary>
/// A TCP proxy on a loopback port that forwards every connection to <c>127.0.0.1:</c><see cref="Target"/>:
/// what a test puts between processes to see what crosses (<see cref="Captured"/>) or to cut the link
/// (<see cref="Cut"/>: open connections are closed and new ones refused until <see cref="Heal"/>).
/// </summary>
public sealed class LoopbackProxy : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<MemoryStream> _captured = [];
    private readonly ConcurrentBag<Task> _tasks = [];
    private readonly ConcurrentDictionary<Socket, bool> _open = new();
    private readonly bool _capture;
    private readonly Task _accepting;
    private volatile bool _cut;
    private volatile int _target;

    /// <param name="target">Where connections go; 0 refuses them until <see cref="Target"/> is set.</param>
    /// <param name="capture">Keep a copy of every byte that crosses, per direction of each connection.</param>
    public LoopbackProxy(int target, bool capture = false)
    {
        _capture = capture;
        _target = target;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>The port new connections are forwarded to (a process behind the proxy may bind a new one when it restarts).</summary>
    public int Target
    {
        get => _target;
        set => _target = value;
    }

    /// <summary>What crossed, one stream per direction of each connection (with <c>capture</c>).</summary>
    public IEnumerable<byte[]> Captured => _captured.Select(c =>
    {
        lock (c)
        {
            return c.ToArray();
        }
    });

    /// <summary>Closes every open connection and refuses new ones: a partition, until <see cref="Heal"/>.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var socket in _open.Keys)
        {
            socket.Dispose();
        }
    }

    public void Heal() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        foreach (var socket in _open.Keys)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_tasks);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var target = _target;
            if (_cut || target == 0)
            {
                client.Dispose();
                continue;
            }

            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, target, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _open[client] = true;
            _open[server] = true;
            _tasks.Add(CopyAsync(client, server));
            _tasks.Add(CopyAsync(server, client));
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var capture = _capture ? new MemoryStream() : null;
        if (capture is not null)
        {
            _captured.Add(capture);
        }

        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, _stop.Token)) > 0)
            {
                if (capture is not null)
                {
                    lock (capture)
                    {
                        capture.Write(buffer, 0, read);
                    }
                }

                await to.SendAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            _open.TryRemove(from, out _);
            _open.TryRemove(to, out _);
            from.Dispose();
            to.Dispose();
        }
    }
}
