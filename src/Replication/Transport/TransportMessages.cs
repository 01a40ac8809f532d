using Microsoft.Extensions.Logging;

namespace Aurora.Replication.Transport;

/// <summary>The replication transport's log messages, with stable event ids (5100-5149).</summary>
internal static partial class TransportMessages
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Information,
        Message = "Replication transport of {ReplicaId} listening on {EndPoint}, peers {Peers}")]
    public static partial void Started(ILogger logger, string replicaId, string endPoint, string peers);

    /// <summary>Warning the first time for a remote address and reason, debug after.</summary>
    [LoggerMessage(EventId = 5101,
        Message = "Refused a replication connection from {Remote}: {Reason}, {Detail}. {Cure}")]
    public static partial void InboundRefused(ILogger logger, LogLevel level, string remote, RefusalReason reason, string detail, string cure);

    /// <summary>Warning the first time for a peer and reason, debug after.</summary>
    [LoggerMessage(EventId = 5102,
        Message = "Closed the replication connection to peer {Peer}: {Reason}, {Detail}. {Cure}")]
    public static partial void OutboundRefused(ILogger logger, LogLevel level, string peer, RefusalReason reason, string detail, string cure);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information,
        Message = "Connected to peer {Peer}")]
    public static partial void Connected(ILogger logger, string peer);

    /// <summary>Information once per outage, debug for the retries.</summary>
    [LoggerMessage(EventId = 5104,
        Message = "Peer {Peer} is unreachable ({Error}); retrying with backoff up to {MaxBackoff}. Messages for it are dropped meanwhile (the protocol retries); check that it runs and that its -replication_port is reachable")]
    public static partial void Unreachable(ILogger logger, LogLevel level, string peer, string error, TimeSpan maxBackoff);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Information,
        Message = "Lost the connection to peer {Peer} ({Error}); reconnecting")]
    public static partial void Disconnected(ILogger logger, string peer, string error);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Warning,
        Message = "Dropped {Count} messages for peer {Peer} since the last report ({Reason}). The protocol retries them; if this persists, the peer or the link is too slow for the load, or -replication_port of the peer is unreachable")]
    public static partial void Dropped(ILogger logger, long count, string peer, string reason);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Error,
        Message = "The replication message handler failed on a message from {Peer}; the message is lost and delivery goes on. This is a bug: report it with this stack trace")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string peer);

    [LoggerMessage(EventId = 5108, Level = LogLevel.Debug,
        Message = "Peer {Peer} closed its connection to this replica ({Error})")]
    public static partial void InboundClosed(ILogger logger, string peer, string error);

    [LoggerMessage(EventId = 5109, Level = LogLevel.Debug,
        Message = "Peer {Peer} connected to this replica from {Remote}")]
    public static partial void InboundAuthenticated(ILogger logger, string peer, string remote);

    [LoggerMessage(EventId = 5110, Level = LogLevel.Warning,
        Message = "Accepting replication connections failed ({Error}); retrying")]
    public static partial void AcceptFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 5111, Level = LogLevel.Error,
        Message = "The replication transport failed unexpectedly; the affected connection is closed. This is a bug: report it with this stack trace")]
    public static partial void Unexpected(ILogger logger, Exception exception);

    public static string Cure(RefusalReason reason) => reason switch
    {
        RefusalReason.WrongProtocolVersion => "Run the same Aurora version on every replica (a rolling upgrade must keep the protocol version)",
        RefusalReason.WrongClusterId => "The replicas belong to different clusters: check -native_log_replicas and that each replica's log directory belongs to this cluster",
        RefusalReason.UnknownReplica => "Give every replica the same -native_log_replicas, with each replica named exactly as it names itself (host:port)",
        RefusalReason.SelfReplicaId => "Two replicas claim the same id, or a replica dialed itself: check -native_log_replicas",
        RefusalReason.WrongReplicaId => "The address in -native_log_replicas reaches another replica: check -native_log_replicas on both",
        RefusalReason.BadProof => "Give every replica the same -replication_secret_file content; if they are the same, something else is answering on the replication port",
        RefusalReason.ClosedDuringHandshake => "If it is a replica, it refused this one and its log says why (a different secret, cluster id, membership or version)",
        RefusalReason.HandshakeTimeout => "Something connected and stayed silent; if it is a replica, check the network between them",
        RefusalReason.TooManyHandshakes => "Many connections arrived at once; if they are not replicas, firewall -replication_port",
        _ => "Only replicas of this cluster should reach -replication_port; if this is a replica, run the same Aurora version everywhere",
    };
}
