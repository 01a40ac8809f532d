using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Microsoft.Extensions.Logging;

namespace Aurora.Replication.Tests.Transport;

/// <summary>A transport on loopback with what it received and what it logged.</summary>
internal sealed class TestNode : IAsyncDisposable
{
    public const int InboundRefused = 5101;
    public const int OutboundRefused = 5102;

    private TestNode(ReplicaTransportOptions options)
    {
        Options = options;
        Transport = new ReplicaTransport(options, (from, message) => Received.Enqueue((from, message)), Logs.Factory);
    }

    public ReplicaTransportOptions Options { get; }

    public ReplicaTransport Transport { get; }

    public CapturedLogs Logs { get; } = new();

    public ConcurrentQueue<(string From, PeerMessage Message)> Received { get; } = new();

    public int Port => Transport.LocalEndPoint.Port;

    /// <summary>The id peers know this node by (the transport's own id may be set otherwise in <see cref="Start"/>).</summary>
    public string Id => IdOf(Port);

    public static string IdOf(int port) => $"127.0.0.1:{port}";

    public static ReplicaTransportOptions DefaultOptions(int port = 0) => new()
    {
        ClusterId = "cluster-1",
        Secret = WireSamples.Secret,
        ListenAddress = IPAddress.Loopback,
        Port = port,
        HandshakeTimeout = TimeSpan.FromSeconds(5),
        ReconnectMinBackoff = TimeSpan.FromMilliseconds(10),
        ReconnectMaxBackoff = TimeSpan.FromMilliseconds(100),
    };

    public static TestNode Create(Func<ReplicaTransportOptions, ReplicaTransportOptions>? configure = null, int port = 0) =>
        new((configure ?? (o => o))(DefaultOptions(port)));

    /// <summary>Nodes started as a full mesh.</summary>
    public static TestNode[] Mesh(int count, Func<int, ReplicaTransportOptions, ReplicaTransportOptions>? configure = null)
    {
        var nodes = Enumerable.Range(0, count).Select(i => Create(o => configure is null ? o : configure(i, o))).ToArray();
        var ids = nodes.Select(n => n.Id).ToArray();
        foreach (var node in nodes)
        {
            node.Transport.Start(node.Id, ids);
        }

        return nodes;
    }

    public void Start(params TestNode[] peers) => Transport.Start(Id, [Id, .. peers.Select(p => p.Id)]);

    public PeerTransportStatus Peer(string id) => Transport.GetStatus().Peers.Single(p => p.PeerId == id);

    public long Refused(RefusalReason reason) => Transport.GetStatus().Refused.GetValueOrDefault(reason);

    public long RefusedTotal => Transport.GetStatus().Refused.Values.Sum();

    public int Warnings(int eventId) => Logs.Entries.Count(e => e.EventId == eventId && e.Level == LogLevel.Warning);

    /// <summary>Warnings about one reason (refusals are warned about once per remote address and reason).</summary>
    public int Warnings(int eventId, RefusalReason reason) =>
        Logs.Entries.Count(e => e.EventId == eventId && e.Level == LogLevel.Warning && e.Message.Contains($": {reason},", StringComparison.Ordinal));

    public int Debugs(int eventId, RefusalReason reason) =>
        Logs.Entries.Count(e => e.EventId == eventId && e.Level == LogLevel.Debug && e.Message.Contains($": {reason},", StringComparison.Ordinal));

    public List<PeerMessage> From(string id) => [.. Received.Where(r => r.From == id).Select(r => r.Message)];

    public string Describe() =>
        $"status: {Transport.GetStatus()}\npeers: {string.Join("\n", Transport.GetStatus().Peers)}\nlog:\n{string.Join("\n", Logs.Entries.Select(e => $"{e.EventId} {e.Level} {e.Message}"))}";

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        Logs.Dispose();
    }

    /// <summary>Waits until <paramref name="from"/>'s outbound connection to <paramref name="to"/> is up.</summary>
    public static Task ConnectedAsync(TestNode from, TestNode to) =>
        Eventually.HoldsAsync($"{from.Id} connected to {to.Id}", () => from.Peer(to.Id).Connected && to.Peer(from.Id).InboundConnected, TimeSpan.FromSeconds(30), from.Describe, TimeSpan.FromMilliseconds(10));

    /// <summary>Sends a probe and waits for it: the link from <paramref name="from"/> to <paramref name="to"/> works.</summary>
    public static async Task ExchangeAsync(TestNode from, TestNode to, ulong term)
    {
        await Eventually.HoldsAsync(
            $"probe {term} from {from.Id} delivered to {to.Id}",
            () =>
            {
                // Sent again until it arrives: a message queued while disconnected may be dropped.
                if (!to.From(from.Id).Any(m => m.StatusProbe?.Term == term))
                {
                    from.Transport.Send(to.Id, WireSamples.Probe(term));
                    return false;
                }

                return true;
            },
            TimeSpan.FromSeconds(30),
            () => from.Describe() + "\n---\n" + to.Describe(),
            TimeSpan.FromMilliseconds(20));
    }
}

/// <summary>A hand-driven TCP client of a transport: raw bytes, frames, or a genuine dialer handshake.</summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new RawClient(socket);
    }

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public Task SendAsync(Frame frame) => SendAsync(FrameCodec.Encode(frame));

    /// <summary>Sends a Hello for <paramref name="replicaId"/> and answers the Challenge with a genuine Proof; throws if the acceptor's proof is wrong or it closes.</summary>
    public async Task HandshakeAsync(string replicaId, string acceptorId, byte[]? secret = null, string cluster = "cluster-1")
    {
        var dialer = new DialerHandshake(new HandshakeSettings(ReplicaTransport.ProtocolVersion, cluster, replicaId, secret ?? WireSamples.Secret), acceptorId, new byte[HandshakeProof.NonceBytes]);
        await SendAsync(dialer.Hello());
        var challenge = await ReadFrameAsync() ?? throw new InvalidOperationException("closed before the Challenge");
        var step = dialer.Receive(challenge);
        Assert.True(step.Completed, step.Failure?.Detail);
        await SendAsync(step.Reply!);
    }

    public async Task<Frame?> ReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var read = await FrameIo.ReadAsync(_stream, new byte[4], FrameCodec.MaxHandshakeFrameBytes, timeout.Token);
        return read?.Frame;
    }

    /// <summary>Whether the other side closes (or resets) the connection within <paramref name="timeout"/>; everything it sends meanwhile is ignored.</summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (await _stream.ReadAsync(buffer, cancel.Token) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();
}
