using System.Net;

namespace Aurora.Replication.Transport;

/// <summary>How a <see cref="ReplicaTransport"/> listens, authenticates and bounds its memory.</summary>
public sealed record ReplicaTransportOptions
{
    /// <summary>The shortest secret accepted.</summary>
    public const int MinSecretBytes = 16;

    /// <summary>The cluster id (from replica.meta); both sides of a connection must have the same.</summary>
    public required string ClusterId { get; init; }

    /// <summary>The shared secret's bytes (the content of -replication_secret_file); at least <see cref="MinSecretBytes"/>. Copied by the transport.</summary>
    public required byte[] Secret { get; init; }

    /// <summary>The address to listen on.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Any;

    /// <summary>-replication_port; 0 binds any free port (see <see cref="ReplicaTransport.LocalEndPoint"/>).</summary>
    public int Port { get; init; }

    /// <summary>The largest frame sent or accepted after the handshake; a longer length prefix closes the connection.</summary>
    public int MaxFrameBytes { get; init; } = FrameCodec.DefaultMaxFrameBytes;

    /// <summary>A writer stops adding messages to a Batch frame once it reaches this size (a single larger message still goes alone, up to <see cref="MaxFrameBytes"/>).</summary>
    public int BatchTargetBytes { get; init; } = 1024 * 1024;

    /// <summary>The bytes of messages that may wait in one peer's send queue; <see cref="ReplicaTransport.Send"/> drops beyond it.</summary>
    public long MaxQueuedBytesPerPeer { get; init; } = 64L * 1024 * 1024;

    /// <summary>A connection (dialed or accepted) whose handshake takes longer is closed; also bounds a connect attempt.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The first delay before reconnecting to a peer; it doubles on each failure up to <see cref="ReconnectMaxBackoff"/>.</summary>
    public TimeSpan ReconnectMinBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ReconnectMaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>At most one warning per peer per interval about dropped messages.</summary>
    public TimeSpan DropLogInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Accepted connections allowed in their handshake at once; more are closed at once.</summary>
    public int MaxPendingHandshakes { get; init; } = 64;

    /// <summary>For tests: the version this transport speaks.</summary>
    internal uint ProtocolVersion { get; init; } = ReplicaTransport.ProtocolVersion;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(ClusterId);
        ArgumentNullException.ThrowIfNull(Secret);
        ArgumentNullException.ThrowIfNull(ListenAddress);
        if (Secret.Length < MinSecretBytes)
        {
            throw new ArgumentException($"the replication secret has {Secret.Length} bytes; it needs at least {MinSecretBytes} (32 random bytes are best)", nameof(Secret));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(Port, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, IPEndPoint.MaxPort);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFrameBytes, FrameCodec.MaxHandshakeFrameBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchTargetBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedBytesPerPeer, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HandshakeTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ReconnectMinBackoff, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(ReconnectMaxBackoff, ReconnectMinBackoff);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingHandshakes, 1);
    }
}
