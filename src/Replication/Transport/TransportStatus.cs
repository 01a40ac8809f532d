namespace Aurora.Replication.Transport;

/// <summary>A snapshot of a <see cref="ReplicaTransport"/>'s counters, for the status API.</summary>
/// <param name="ReplicaId">This replica's id, once <see cref="ReplicaTransport.Start"/> was called.</param>
/// <param name="LocalPort">The port the listener is bound to.</param>
/// <param name="Peers">One entry per peer, in id order.</param>
/// <param name="Refused">Connections closed for a reason, dialed and accepted alike (reasons never seen are absent).</param>
public sealed record TransportStatus(
    string? ReplicaId,
    int LocalPort,
    IReadOnlyList<PeerTransportStatus> Peers,
    IReadOnlyDictionary<RefusalReason, long> Refused);

/// <summary>One peer's counters.</summary>
/// <param name="Connected">This replica's outbound connection to the peer is authenticated.</param>
/// <param name="InboundConnected">The peer's connection to this replica is authenticated.</param>
/// <param name="FramesSent">Batch frames written to the peer (the handshake is not counted).</param>
/// <param name="MessagesSent">Messages in those frames.</param>
/// <param name="BytesSent">Bytes of those frames, prefixes included.</param>
/// <param name="FramesReceived">Batch frames received from the peer on authenticated connections.</param>
/// <param name="MessagesReceived">Messages in those frames (each delivered to the handler).</param>
/// <param name="BytesReceived">Bytes of those frames, prefixes included.</param>
/// <param name="MessagesDropped">Messages given to <see cref="ReplicaTransport.Send"/> that were never written: queue full, too large, or queued while disconnected.</param>
/// <param name="QueuedBytes">Bytes of messages waiting in the send queue now.</param>
/// <param name="Connects">Authenticated outbound connections made so far.</param>
/// <param name="LastError">Why the last outbound connection attempt failed or ended, if it did.</param>
public sealed record PeerTransportStatus(
    string PeerId,
    bool Connected,
    bool InboundConnected,
    long FramesSent,
    long MessagesSent,
    long BytesSent,
    long FramesReceived,
    long MessagesReceived,
    long BytesReceived,
    long MessagesDropped,
    long QueuedBytes,
    long Connects,
    string? LastError);
