using Aurora.CommandLine;

namespace Aurora.Replication.Membership;

/// <summary>
/// The flags replication reads at start-up, with Aurora's names where Aurora has one
/// (<c>-native_log_replicas</c>, <c>-native_log_quorum_size</c>, <c>-hostname</c>,
/// <c>-cluster_name</c>), and their defaults. <see cref="ReplicationOptions.Build(IReadOnlyDictionary{string, string?})"/>
/// reads them by these names.
/// </summary>
/// <remarks>
/// <see cref="Specs"/> is for the scheduler's flag list. <c>-cluster_name</c> and
/// <c>-native_log_quorum_size</c> are the scheduler's own flags already and are not in it; note that
/// the quorum size must have no default value there (its default is the majority, which depends on
/// the list), or the default would be checked as if it had been given.
/// </remarks>
public static class ReplicationFlags
{
    public const string Replicas = "native_log_replicas";
    public const string QuorumSize = QuorumRule.QuorumFlag;
    public const string ReplicationPort = "replication_port";
    public const string BindPort = "replication_bind_port";
    public const string Hostname = "hostname";
    public const string SecretFile = "replication_secret_file";
    public const string ClusterName = "cluster_name";
    public const string HeartbeatInterval = "replication_heartbeat_interval";
    public const string ElectionTimeoutMin = "replication_election_timeout_min";
    public const string ElectionTimeoutMax = "replication_election_timeout_max";
    public const string LeaderLease = "replication_leader_lease";
    public const string MaxFrameSize = "replication_max_frame_size";
    public const string SnapshotChunkSize = "replication_snapshot_chunk_size";

    public const string DefaultHeartbeatInterval = "50ms";
    public const string DefaultElectionTimeoutMin = "300ms";
    public const string DefaultElectionTimeoutMax = "600ms";
    public const string DefaultLeaderLease = "250ms";
    public const string DefaultMaxFrameSize = "16MB";
    public const string DefaultSnapshotChunkSize = "1MB";

    /// <summary>The flags replication adds to the scheduler's, with their help and defaults.</summary>
    public static IReadOnlyList<FlagSpec> Specs { get; } =
    [
        new(Replicas, "Every log replica's host:port, this one included, comma-separated (IPv6 in brackets: [::1]:8083); at most 9.", "HOSTS"),
        new(ReplicationPort, "Port this replica listens on for its peers; with -hostname, it picks this replica's entry in -native_log_replicas.", "PORT"),
        new(BindPort, "Port the transport actually listens on, when peers reach this replica through a port mapping or proxy at its -native_log_replicas entry; default -replication_port; 0 binds any free port (logged: 'Replication transport of ... listening on HOST:PORT').", "PORT"),
        new(Hostname, "This replica's host as written in -native_log_replicas, when several entries have -replication_port; matched literally (no DNS).", "HOST"),
        new(SecretFile, "File holding the secret every replica proves it knows (at least 16 bytes, the same file on every replica, mode 600).", "FILE"),
        new(HeartbeatInterval, "How often the leader sends heartbeats; shorter than -replication_leader_lease.", "DURATION", DefaultHeartbeatInterval),
        new(ElectionTimeoutMin, "Shortest time a follower waits without hearing from a leader before it stands for election.", "DURATION", DefaultElectionTimeoutMin),
        new(ElectionTimeoutMax, "Longest such time; each wait is random between the two.", "DURATION", DefaultElectionTimeoutMax),
        new(LeaderLease, "How long a quorum's heartbeat acknowledgements keep the leader sure it leads; shorter than -replication_election_timeout_min.", "DURATION", DefaultLeaderLease),
        new(MaxFrameSize, "Largest message between replicas; larger ones are refused.", "SIZE", DefaultMaxFrameSize),
        new(SnapshotChunkSize, "Size of each piece of a snapshot sent to a replica that is behind.", "SIZE", DefaultSnapshotChunkSize),
    ];
}
