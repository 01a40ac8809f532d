namespace Aurora.Replication.Transport;

/// <summary>Why the transport closed a connection before or instead of using it (counted in <see cref="TransportStatus.Refused"/>).</summary>
/// <remarks>Values are reported by name in the status API; add new ones at the end.</remarks>
public enum RefusalReason
{
    /// <summary>The frame's bytes are not a <c>Frame</c>, or it carries no known body.</summary>
    MalformedFrame,

    /// <summary>The length prefix is above the frame size limit (a much smaller limit applies before the handshake).</summary>
    OversizedFrame,

    /// <summary>The length prefix is zero.</summary>
    EmptyFrame,

    /// <summary>The connection ended in the middle of a frame.</summary>
    TruncatedFrame,

    /// <summary>A well-formed frame at the wrong time: a Batch before the handshake, a handshake frame after it, or anything from an acceptor after its Challenge.</summary>
    UnexpectedFrame,

    /// <summary>A handshake frame with a field out of range (a nonce or a proof of the wrong length).</summary>
    MalformedHandshake,

    /// <summary>The dialer speaks another protocol version.</summary>
    WrongProtocolVersion,

    /// <summary>The other replica belongs to another cluster.</summary>
    WrongClusterId,

    /// <summary>The dialer claims a replica id that is not one of this replica's peers.</summary>
    UnknownReplica,

    /// <summary>The dialer claims this replica's own id.</summary>
    SelfReplicaId,

    /// <summary>The replica that answered is not the one dialed (its Challenge names another replica id).</summary>
    WrongReplicaId,

    /// <summary>The other side's HMAC proof is wrong: the secrets differ, or it is an impostor.</summary>
    BadProof,

    /// <summary>The handshake did not complete within the handshake timeout.</summary>
    HandshakeTimeout,

    /// <summary>The other side closed (or reset) the connection during the handshake; when dialing, it usually means the peer refused this replica (its log says why).</summary>
    ClosedDuringHandshake,

    /// <summary>Too many connections were in their handshake at once; the newest was closed.</summary>
    TooManyHandshakes,
}
