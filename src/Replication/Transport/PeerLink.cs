using System.Globalization;
using System.Threading.Channels;
using Aurora.Replication.Protos;

namespace Aurora.Replication.Transport;

/// <summary>A message waiting to be sent, with its encoded size.</summary>
internal readonly record struct Queued(PeerMessage Message, int Size);

/// <summary>Everything a transport keeps for one peer: the send queue, the connection flags and the counters.</summary>
/// <remarks>
/// <see cref="ReplicaTransport.Send"/> writes the queue from any thread; the peer's dial loop is
/// the queue's only reader. Counters are updated with <see cref="Interlocked"/> and read without
/// a lock (a status snapshot is not atomic across counters).
/// </remarks>
internal sealed class PeerLink(string peerId, string host, int port)
{
    public string PeerId { get; } = peerId;

    public string Host { get; } = host;

    public int Port { get; } = port;

    public Channel<Queued> Queue { get; } = Channel.CreateUnbounded<Queued>(new UnboundedChannelOptions { SingleReader = true });

    // Counters are fields so that Interlocked can update them.
    public long QueuedBytes;
    public long FramesSent;
    public long MessagesSent;
    public long BytesSent;
    public long FramesReceived;
    public long MessagesReceived;
    public long BytesReceived;
    public long MessagesDropped;
    public long DroppedUnreported;
    public long LastDropReport;
    public long Connects;

    /// <summary>The authenticated inbound connection from the peer, cancelled when a newer one replaces it.</summary>
    public CancellationTokenSource? Inbound;

    public volatile bool Connected;

    public volatile string? LastError;

    /// <summary>Whether the current outage was already logged at information level.</summary>
    public bool OutageReported { get; set; }

    /// <summary>Splits a replica id ("host:port", "[v6]:port") into host and port.</summary>
    public static bool TryParseId(string id, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        var colon = id.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(id.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = id[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return host.Length > 0 && !host.Contains(' ', StringComparison.Ordinal);
    }
}
