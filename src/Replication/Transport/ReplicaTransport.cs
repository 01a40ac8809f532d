using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Aurora.Replication.Protos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Replication.Transport;

/// <summary>
/// The transport between replicas: authenticated TCP connections carrying batched
/// <see cref="PeerMessage"/>s, one outbound connection per peer for this replica's messages and
/// one inbound connection per peer for the peer's.
/// </summary>
/// <remarks>
/// <para><b>Wire format.</b> Every frame is a 4-byte big-endian length, then that many bytes of a
/// protobuf <see cref="Frame"/> (<see cref="FrameCodec"/>). A length of zero, above
/// <see cref="ReplicaTransportOptions.MaxFrameBytes"/> (1 KiB before the handshake), bytes that
/// are not a Frame, a frame cut by the end of the connection, or a frame at the wrong time close the
/// connection. See docs/replication.md, "Transport".</para>
/// <para><b>Handshake.</b> The dialer sends Hello{version, cluster id, its replica id, 32-byte
/// nonce}; the acceptor checks the version, the cluster id and that the id is one of its peers
/// (not itself), and answers Challenge{cluster id, its replica id, its nonce, HMAC-SHA256(secret,
/// "aurora-replication/acceptor" transcript)}; the dialer checks that the answering replica is the
/// one it dialed and its proof, and sends Proof{HMAC-SHA256(secret, "aurora-replication/dialer"
/// transcript)}, which the acceptor checks (<see cref="HandshakeProof"/>, constant-time). The secret
/// never travels. Until then nothing is delivered; after it, an accepted connection carries only
/// Batch frames from the dialer, and the acceptor sends nothing more.</para>
/// <para><b>Life cycle.</b> The constructor binds and listens (<see cref="LocalEndPoint"/>, so a
/// test can use port 0 and learn the port before membership is known); <see cref="Start"/> gives
/// this replica's id and the peers and starts accepting and dialing; <see cref="DisposeAsync"/>
/// closes the listener and every connection and returns once every loop has ended (after it, the
/// handler is never called again).</para>
/// <para><b>Threads.</b> <see cref="Send"/> and <see cref="GetStatus"/> may be called from any
/// thread at any time after <see cref="Start"/>; <see cref="Send"/> never blocks: it enqueues the
/// message (bounded by <see cref="ReplicaTransportOptions.MaxQueuedBytesPerPeer"/>, beyond which it
/// drops and counts) and the peer's writer loop drains every queued message into one Batch frame
/// per write, without waiting for answers. The caller gives up the message: it must not change it
/// after <see cref="Send"/>. Messages queued while the peer is unreachable are dropped (the
/// protocol retries). The handler is called on the inbound connection's loop: calls for one
/// connection never overlap and keep the sender's order; calls for different peers may overlap.
/// It should be quick (hand the message to the consensus loop) and must not dispose the transport;
/// an exception it throws is logged and the message lost.</para>
/// <para><b>Refusals.</b> Every refused or broken connection is counted by
/// <see cref="RefusalReason"/> and logged as a warning the first time for a remote address (or
/// peer) and reason, at debug level after that.</para>
/// </remarks>
public sealed partial class ReplicaTransport : IAsyncDisposable
{
    /// <summary>The protocol version in Hello; a replica refuses a dialer with another.</summary>
    public const uint ProtocolVersion = 1;

    /// <summary>Remote addresses and reasons remembered for "warn once"; past it, every refusal logs at debug level.</summary>
    private const int MaxWarnedKeys = 4096;

    private readonly ReplicaTransportOptions _options;
    private readonly Action<string, PeerMessage> _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly byte[] _secret;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly ConcurrentDictionary<string, byte> _warned = new();
    private readonly long[] _refused = new long[Enum.GetValues<RefusalReason>().Length];
    private readonly Lock _gate = new();
    private FrozenDictionary<string, PeerLink>? _peers;
    private HandshakeSettings? _handshake;
    private Task? _disposed;
    private int _pendingHandshakes;

    /// <summary>Binds and listens on <see cref="ReplicaTransportOptions.ListenAddress"/>:<see cref="ReplicaTransportOptions.Port"/>; accepts nothing until <see cref="Start"/>.</summary>
    /// <param name="handler">Receives every message from an authenticated peer: the peer's replica id and the message.</param>
    /// <exception cref="SocketException">The port cannot be bound.</exception>
    public ReplicaTransport(ReplicaTransportOptions options, Action<string, PeerMessage> handler, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        options.Validate();
        _options = options;
        _handler = handler;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ReplicaTransport>();
        _time = timeProvider ?? TimeProvider.System;
        _secret = [.. options.Secret];
        _listener = new Socket(options.ListenAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(new IPEndPoint(options.ListenAddress, options.Port));
            _listener.Listen(128);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }

        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    /// <summary>Where the listener is bound (its port is the real one when <see cref="ReplicaTransportOptions.Port"/> is 0).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>This replica's id, once started.</summary>
    public string? ReplicaId => _handshake?.SelfId;

    /// <summary>
    /// Gives this replica's id and the replicas (-native_log_replicas; this replica's own id in it is
    /// ignored), then starts accepting connections and dialing every peer. Once.
    /// </summary>
    /// <exception cref="ArgumentException">An id is not "host:port".</exception>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public void Start(string replicaId, IEnumerable<string> replicas)
    {
        ArgumentNullException.ThrowIfNull(replicaId);
        ArgumentNullException.ThrowIfNull(replicas);
        if (!PeerLink.TryParseId(replicaId, out _, out _))
        {
            throw new ArgumentException($"replica id '{replicaId}' is not host:port", nameof(replicaId));
        }

        var links = new Dictionary<string, PeerLink>(StringComparer.Ordinal);
        foreach (var id in replicas)
        {
            if (id == replicaId || links.ContainsKey(id))
            {
                continue;
            }

            links[id] = PeerLink.TryParseId(id, out var host, out var port)
                ? new PeerLink(id, host, port)
                : throw new ArgumentException($"replica id '{id}' is not host:port", nameof(replicas));
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed is not null, this);
            if (_peers is not null)
            {
                throw new InvalidOperationException("the transport is already started");
            }

            _handshake = new HandshakeSettings(_options.ProtocolVersion, _options.ClusterId, replicaId, _secret);
            _peers = links.ToFrozenDictionary(StringComparer.Ordinal);
            var stopping = _stopping.Token;
            Track(Task.Run(() => AcceptLoopAsync(stopping), CancellationToken.None));
            foreach (var link in _peers.Values)
            {
                Track(Task.Run(() => DialLoopAsync(link, stopping), CancellationToken.None));
            }
        }

        TransportMessages.Started(_logger, replicaId, LocalEndPoint.ToString(), string.Join(", ", links.Keys.Order(StringComparer.Ordinal)));
    }

    /// <summary>
    /// Queues <paramref name="message"/> for <paramref name="peerId"/> and returns at once; false when
    /// it was dropped (the peer's queue is full, the message is larger than a frame, or the transport
    /// is disposed). The message must not be changed afterwards.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not started.</exception>
    /// <exception cref="ArgumentException"><paramref name="peerId"/> is not a peer.</exception>
    public bool Send(string peerId, PeerMessage message)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        ArgumentNullException.ThrowIfNull(message);
        var peers = Volatile.Read(ref _peers) ?? throw new InvalidOperationException("the transport is not started");
        if (!peers.TryGetValue(peerId, out var link))
        {
            throw new ArgumentException($"'{peerId}' is not a peer of this replica", nameof(peerId));
        }

        if (Volatile.Read(ref _disposed) is not null)
        {
            return false;
        }

        var size = message.CalculateSize();
        if (size > _options.MaxFrameBytes - FrameCodec.MessageEnvelopeBytes)
        {
            Drop(link, 1, $"a message of {size} bytes is larger than a frame may be", warn: true);
            return false;
        }

        if (Interlocked.Add(ref link.QueuedBytes, size) > _options.MaxQueuedBytesPerPeer)
        {
            Interlocked.Add(ref link.QueuedBytes, -size);
            Drop(link, 1, $"the send queue holds {_options.MaxQueuedBytesPerPeer} bytes", warn: true);
            return false;
        }

        link.Queue.Writer.TryWrite(new Queued(message, size));
        return true;
    }

    /// <summary>A snapshot of the counters (not atomic across counters).</summary>
    public TransportStatus GetStatus()
    {
        var peers = Volatile.Read(ref _peers);
        var links = peers is null ? [] : peers.Values.OrderBy(link => link.PeerId, StringComparer.Ordinal).Select(link => new PeerTransportStatus(
            link.PeerId,
            link.Connected,
            Volatile.Read(ref link.Inbound) is not null,
            Interlocked.Read(ref link.FramesSent),
            Interlocked.Read(ref link.MessagesSent),
            Interlocked.Read(ref link.BytesSent),
            Interlocked.Read(ref link.FramesReceived),
            Interlocked.Read(ref link.MessagesReceived),
            Interlocked.Read(ref link.BytesReceived),
            Interlocked.Read(ref link.MessagesDropped),
            Interlocked.Read(ref link.QueuedBytes),
            Interlocked.Read(ref link.Connects),
            link.LastError)).ToList();
        var refused = new Dictionary<RefusalReason, long>();
        for (var i = 0; i < _refused.Length; i++)
        {
            var count = Interlocked.Read(ref _refused[i]);
            if (count > 0)
            {
                refused[(RefusalReason)i] = count;
            }
        }

        return new TransportStatus(ReplicaId, LocalEndPoint.Port, links, refused);
    }

    /// <summary>Closes the listener and every connection, and returns once every loop has ended. Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed ??= DisposeCoreAsync();
            return new ValueTask(_disposed);
        }
    }

    private async Task DisposeCoreAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        // The accept loop may start a connection's task until it has ended: wait again for any newcomer.
        while (!_running.IsEmpty)
        {
            var running = _running.Keys.ToArray();
            try
            {
                await Task.WhenAll(running).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // The loops catch what they expect; anything else is a bug, but shutdown goes on.
                TransportMessages.Unexpected(_logger, e);
            }

            foreach (var task in running)
            {
                _running.TryRemove(task, out _);
            }
        }

        _stopping.Dispose();
    }

    private void Track(Task task)
    {
        _running.TryAdd(task, 0);
        _ = task.ContinueWith(done => _running.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private bool IsPeer(string id) => Volatile.Read(ref _peers)?.ContainsKey(id) == true;

    private static byte[] NewNonce() => RandomNumberGenerator.GetBytes(HandshakeProof.NonceBytes);

    /// <summary>Warning the first time for <paramref name="key"/>, debug after (and always debug once too many keys were seen).</summary>
    private LogLevel FirstTimeWarning(string key) =>
        _warned.Count < MaxWarnedKeys && _warned.TryAdd(key, 0) ? LogLevel.Warning : LogLevel.Debug;

    private void RefuseInbound(string address, string remote, FrameProblem problem)
    {
        Interlocked.Increment(ref _refused[(int)problem.Reason]);
        var level = FirstTimeWarning($"in {address} {problem.Reason}");
        TransportMessages.InboundRefused(_logger, level, remote, problem.Reason, problem.Detail, TransportMessages.Cure(problem.Reason));
    }

    private void RefuseOutbound(PeerLink link, FrameProblem problem)
    {
        Interlocked.Increment(ref _refused[(int)problem.Reason]);
        link.LastError = $"{problem.Reason}: {problem.Detail}";
        var level = FirstTimeWarning($"out {link.PeerId} {problem.Reason}");
        TransportMessages.OutboundRefused(_logger, level, link.PeerId, problem.Reason, problem.Detail, TransportMessages.Cure(problem.Reason));
    }

    /// <summary>Counts dropped messages; with <paramref name="warn"/>, reports them at most once per <see cref="ReplicaTransportOptions.DropLogInterval"/> per peer.</summary>
    private void Drop(PeerLink link, long count, string reason, bool warn)
    {
        if (count == 0)
        {
            return;
        }

        Interlocked.Add(ref link.MessagesDropped, count);
        if (!warn)
        {
            return;
        }

        Interlocked.Add(ref link.DroppedUnreported, count);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref link.LastDropReport);
        if ((last == 0 || _time.GetElapsedTime(last, now) >= _options.DropLogInterval)
            && Interlocked.CompareExchange(ref link.LastDropReport, now, last) == last)
        {
            TransportMessages.Dropped(_logger, Interlocked.Exchange(ref link.DroppedUnreported, 0), link.PeerId, reason);
        }
    }

    private void Deliver(string peerId, PeerMessage message)
    {
        try
        {
            _handler(peerId, message);
        }
        catch (Exception e)
        {
            TransportMessages.HandlerFailed(_logger, e, peerId);
        }
    }
}
