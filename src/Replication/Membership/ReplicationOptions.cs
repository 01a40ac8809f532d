using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Aurora.CommandLine;
using Aurora.Storage.IO;

namespace Aurora.Replication.Membership;

/// <summary>
/// What the replication library needs at start-up, checked as a whole: the membership and its
/// quorum, this replica's port, the shared secret, the cluster id, the timings of elections,
/// heartbeats and the leader's lease, and the sizes of messages. Made from the raw flag values by
/// <see cref="Build(IReadOnlyDictionary{string, string?})"/>.
/// </summary>
/// <remarks>
/// <para>
/// The timings must nest: <c>heartbeat &lt; lease &lt; election timeout min &lt; election timeout max</c>.
/// The leader counts itself leader for a lease after a quorum acknowledged a heartbeat; no follower
/// stands for election before the minimum election timeout, so a lease shorter than that ends before
/// another leader can be elected. Heartbeats renew the lease, so they come more often than it lapses.
/// A follower's election timeout is random between the minimum and the maximum, so that followers
/// rarely stand together and split the vote.
/// </para>
/// <para>Immutable; safe to share between threads. Only <see cref="Build(IReadOnlyDictionary{string, string?})"/> checks the rules above.</para>
/// </remarks>
public sealed record ReplicationOptions
{
    /// <summary>The smallest <see cref="MaxFrameBytes"/>.</summary>
    public const int MinFrameBytes = 64 * 1024;

    /// <summary>The largest <see cref="MaxFrameBytes"/>.</summary>
    public const int MaxFrameBytesLimit = 1024 * 1024 * 1024;

    /// <summary>What a frame keeps free around a snapshot chunk for the chunk's header and the framing.</summary>
    public const int ChunkHeaderRoom = 64 * 1024;

    /// <summary>The smallest <see cref="SnapshotChunkBytes"/>.</summary>
    public const int MinSnapshotChunkBytes = 4 * 1024;

    /// <summary>Who votes, which one is this replica, and the quorum size.</summary>
    public required IMembership Membership { get; init; }

    /// <summary>The quorum size (<c>-native_log_quorum_size</c>, by default the majority): the membership's.</summary>
    public int QuorumSize => Membership.Current.QuorumSize;

    /// <summary>The port this replica listens on for its peers (<c>-replication_port</c>).</summary>
    public required int ReplicationPort { get; init; }

    /// <summary>The port the transport binds (<c>-replication_bind_port</c>) when peers reach this replica through a mapping or proxy; null: <see cref="ReplicationPort"/>.</summary>
    public int? BindPort { get; init; }

    /// <summary>The shared secret (<c>-replication_secret_file</c>).</summary>
    public required ReplicationSecret Secret { get; init; }

    /// <summary>The cluster's name (<c>-cluster_name</c>): replicas refuse peers that present another.</summary>
    public required string ClusterId { get; init; }

    /// <summary>How often the leader sends heartbeats (<c>-replication_heartbeat_interval</c>).</summary>
    public required TimeSpan HeartbeatInterval { get; init; }

    /// <summary>The shortest election timeout (<c>-replication_election_timeout_min</c>).</summary>
    public required TimeSpan ElectionTimeoutMin { get; init; }

    /// <summary>The longest election timeout (<c>-replication_election_timeout_max</c>).</summary>
    public required TimeSpan ElectionTimeoutMax { get; init; }

    /// <summary>How long the leader is sure it leads after a quorum acknowledged it (<c>-replication_leader_lease</c>).</summary>
    public required TimeSpan LeaderLease { get; init; }

    /// <summary>The largest frame sent or accepted (<c>-replication_max_frame_size</c>).</summary>
    public required int MaxFrameBytes { get; init; }

    /// <summary>The data in each snapshot chunk (<c>-replication_snapshot_chunk_size</c>).</summary>
    public required int SnapshotChunkBytes { get; init; }

    /// <summary>
    /// The consensus core's settings for these flags. <paramref name="maxEntryBytes"/> is the largest
    /// entry the state machine writes: one append message must be able to carry it.
    /// </summary>
    public Consensus.ConsensusOptions Consensus(string? serviceUrl, int maxEntryBytes) => new()
    {
        SelfId = Membership.SelfId,
        Members = Membership.Current.VoterIds,
        Quorum = QuorumSize,
        ServiceUrl = serviceUrl,
        HeartbeatInterval = HeartbeatInterval,
        ElectionTimeoutMin = ElectionTimeoutMin,
        ElectionTimeoutMax = ElectionTimeoutMax,
        Lease = LeaderLease,
        MaxAppendBytes = Math.Max(1 << 20, maxEntryBytes),
        SnapshotChunkBytes = SnapshotChunkBytes,
    };

    /// <summary>The transport's settings for these flags: the port, the cluster, the secret, the frame size.</summary>
    public Transport.ReplicaTransportOptions Transport() => new()
    {
        ClusterId = ClusterId,
        Secret = Secret.Bytes.ToArray(),
        Port = BindPort ?? ReplicationPort,
        MaxFrameBytes = MaxFrameBytes,
    };

    /// <summary>An election timeout drawn uniformly from [min, max), from the caller's (seeded) randomness.</summary>
    public TimeSpan ElectionTimeout(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return ElectionTimeoutMin + ((ElectionTimeoutMax - ElectionTimeoutMin) * random.NextDouble());
    }

    /// <summary>
    /// Checks and gathers the replication flags (<see cref="ReplicationFlags"/>) from their raw
    /// values. Every problem is found, not only the first: each is one line naming its flag.
    /// </summary>
    /// <param name="flags">
    /// Flag values by name without dashes, as the scheduler's flag parser yields them; a missing
    /// key, null or blank is a flag not given, which takes its default (the majority, for
    /// <c>-native_log_quorum_size</c>) or is refused when required. Other keys are ignored.
    /// </param>
    public static ReplicationOptionsResult Build(IReadOnlyDictionary<string, string?> flags) => Build(flags, PhysicalFileSystem.Instance);

    /// <summary>As <see cref="Build(IReadOnlyDictionary{string, string?})"/>, reading the secret through <paramref name="fileSystem"/>.</summary>
    internal static ReplicationOptionsResult Build(IReadOnlyDictionary<string, string?> flags, IFileSystem fileSystem)
    {
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(fileSystem);
        var problems = new List<string>();
        var warnings = new List<string>();

        string? Given(string name) => flags.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

        // The membership: the list, this replica in it, the quorum.
        var listed = StaticMembership.TryParseReplicas(Given(ReplicationFlags.Replicas), out var replicas, out var listProblems);
        problems.AddRange(listProblems);
        var portText = Given(ReplicationFlags.ReplicationPort);
        if (portText is null)
        {
            problems.Add($"-{ReplicationFlags.ReplicationPort} is required: the port this replica listens on for its peers, as its entry in -{ReplicationFlags.Replicas} has it");
        }

        var port = portText is null ? null : ParsePort(ReplicationFlags.ReplicationPort, portText, problems);
        var bindPort = Given(ReplicationFlags.BindPort) is { } bindText ? ParsePort(ReplicationFlags.BindPort, bindText, problems, lowest: 0) : null;

        var hostname = Given(ReplicationFlags.Hostname);
        var hostnameValid = hostname is null || ReplicaAddress.TryParseHost(hostname, out _, out var hostProblem) || Add(problems, $"-{ReplicationFlags.Hostname}={hostname}: {hostProblem}");
        ReplicaAddress? self = null;
        if (listed && port is { } p && hostnameValid && !StaticMembership.TryFindSelf(replicas, p, hostname, out self, out var selfProblem))
        {
            problems.Add(selfProblem);
        }

        var quorum = ParseQuorum(Given(ReplicationFlags.QuorumSize), listed ? replicas.Count : null, problems);

        // The secret and the cluster.
        ReplicationSecret? secret = null;
        if (Given(ReplicationFlags.SecretFile) is not { } secretPath)
        {
            problems.Add($"-{ReplicationFlags.SecretFile} is required: a file of at least {ReplicationSecret.MinLength} random bytes, the same on every replica (head -c 32 /dev/urandom > FILE; chmod 600 FILE)");
        }
        else if (!ReplicationSecret.TryLoad(secretPath, fileSystem, out secret, out var secretProblem, out var secretWarning))
        {
            problems.Add(secretProblem);
        }
        else if (secretWarning is not null)
        {
            warnings.Add(secretWarning);
        }

        var clusterId = Given(ReplicationFlags.ClusterName);
        if (clusterId is null)
        {
            problems.Add($"-{ReplicationFlags.ClusterName} is required: replicas refuse peers that present another cluster's name");
        }
        else if (clusterId.Any(char.IsControl))
        {
            problems.Add($"-{ReplicationFlags.ClusterName}: the name holds a control character");
            clusterId = null;
        }

        // Timings, then how they nest.
        var heartbeat = ParseDuration(ReplicationFlags.HeartbeatInterval, ReplicationFlags.DefaultHeartbeatInterval);
        var electionMin = ParseDuration(ReplicationFlags.ElectionTimeoutMin, ReplicationFlags.DefaultElectionTimeoutMin);
        var electionMax = ParseDuration(ReplicationFlags.ElectionTimeoutMax, ReplicationFlags.DefaultElectionTimeoutMax);
        var lease = ParseDuration(ReplicationFlags.LeaderLease, ReplicationFlags.DefaultLeaderLease);
        if (electionMin is { } min && electionMax is { } max && max.Value <= min.Value)
        {
            problems.Add($"-{ReplicationFlags.ElectionTimeoutMax}={max.Text} must be longer than -{ReplicationFlags.ElectionTimeoutMin}={min.Text}: each follower waits a random time between the two, so that followers rarely stand for election together");
        }

        if (lease is { } l && electionMin is { } em && l.Value >= em.Value)
        {
            problems.Add($"-{ReplicationFlags.LeaderLease}={l.Text} must be shorter than -{ReplicationFlags.ElectionTimeoutMin}={em.Text}: a leader's lease must end before another replica can be elected");
        }

        if (heartbeat is { } h && lease is { } hl && h.Value >= hl.Value)
        {
            problems.Add($"-{ReplicationFlags.HeartbeatInterval}={h.Text} must be shorter than -{ReplicationFlags.LeaderLease}={hl.Text}: heartbeats renew the lease, which would otherwise lapse between two of them");
        }

        // Message sizes.
        var frame = ParseSize(ReplicationFlags.MaxFrameSize, ReplicationFlags.DefaultMaxFrameSize, MinFrameBytes, MaxFrameBytesLimit);
        var chunk = ParseSize(ReplicationFlags.SnapshotChunkSize, ReplicationFlags.DefaultSnapshotChunkSize, MinSnapshotChunkBytes, null);
        if (frame is { } f && chunk is { } c && c.Value > f.Value - ChunkHeaderRoom)
        {
            problems.Add($"-{ReplicationFlags.SnapshotChunkSize}={c.Text} must leave room for a chunk's header in a frame: at most -{ReplicationFlags.MaxFrameSize}={f.Text} less {Amounts.FormatBytes(ChunkHeaderRoom)}, {Amounts.FormatBytes(f.Value - ChunkHeaderRoom)}");
        }

        if (problems.Count > 0)
        {
            return new ReplicationOptionsResult(null, problems, warnings);
        }

        var options = new ReplicationOptions
        {
            Membership = new StaticMembership(replicas, self!, quorum!.Value),
            ReplicationPort = port!.Value,
            BindPort = bindPort,
            Secret = secret!,
            ClusterId = clusterId!,
            HeartbeatInterval = heartbeat!.Value.Value,
            ElectionTimeoutMin = electionMin!.Value.Value,
            ElectionTimeoutMax = electionMax!.Value.Value,
            LeaderLease = lease!.Value.Value,
            MaxFrameBytes = (int)frame!.Value.Value,
            SnapshotChunkBytes = (int)chunk!.Value.Value,
        };
        return new ReplicationOptionsResult(options, problems, warnings);

        (TimeSpan Value, string Text)? ParseDuration(string name, string defaultText)
        {
            var text = Given(name) ?? defaultText;
            if (!Amounts.TryParseDuration(text, TimeSpan.Zero, out var duration))
            {
                problems.Add($"-{name}={text} is not a duration with a unit (e.g. 50ms, 300ms, 1secs)");
                return null;
            }

            if (duration <= TimeSpan.Zero)
            {
                problems.Add($"-{name}={text} must be longer than 0");
                return null;
            }

            return (duration, text);
        }

        // The chunk's upper bound is the frame's, less the header room: checked above, once both are known.
        (long Value, string Text)? ParseSize(string name, string defaultText, long least, long? most)
        {
            var text = Given(name) ?? defaultText;
            if (!Amounts.TryParseBytes(text, 1, out var bytes))
            {
                problems.Add($"-{name}={text} is not a size (e.g. 512KB, 1MB, 16MB)");
                return null;
            }

            if (bytes < least || bytes > most)
            {
                problems.Add(most is { } m
                    ? $"-{name}={text} must be from {Amounts.FormatBytes(least)} to {Amounts.FormatBytes(m)}"
                    : $"-{name}={text} must be at least {Amounts.FormatBytes(least)}");
                return null;
            }

            return (bytes, text);
        }
    }

    /// <summary>The port flag <paramref name="name"/> gives; null (with a problem) when it is not a port number.</summary>
    /// <param name="lowest">The lowest port taken: 0 (any free port) only where the port is bound, never where peers are told to connect.</param>
    private static int? ParsePort(string name, string text, List<string> problems, int lowest = ReplicaAddress.MinPort)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port >= lowest && port <= ReplicaAddress.MaxPort)
        {
            return port;
        }

        problems.Add($"-{name}={text} is not a port number from {lowest} to {ReplicaAddress.MaxPort}");
        return null;
    }

    /// <summary>The quorum size given, or the majority when not given; null (with a problem) when refused.</summary>
    private static int? ParseQuorum(string? text, int? replicas, List<string> problems)
    {
        if (text is null)
        {
            return replicas is { } n ? QuorumRule.Majority(n) : null;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var quorum))
        {
            problems.Add(replicas is { } n
                ? $"-{ReplicationFlags.QuorumSize}={text} is not a whole number: for the {n} replicas in -{ReplicationFlags.Replicas} it must be at least floor({n}/2)+1 = {QuorumRule.Majority(n)} and at most {n}"
                : $"-{ReplicationFlags.QuorumSize}={text} is not a whole number");
            return null;
        }

        if (replicas is { } count && QuorumRule.Check(count, quorum) is { } problem)
        {
            problems.Add(problem);
            return null;
        }

        return quorum;
    }

    /// <summary>Adds <paramref name="problem"/> and returns false, for conditions written as one expression.</summary>
    private static bool Add(List<string> problems, string problem)
    {
        problems.Add(problem);
        return false;
    }
}

/// <summary>What <see cref="ReplicationOptions.Build(IReadOnlyDictionary{string, string?})"/> made of the flags.</summary>
public sealed class ReplicationOptionsResult
{
    internal ReplicationOptionsResult(ReplicationOptions? options, IReadOnlyList<string> problems, IReadOnlyList<string> warnings)
    {
        Options = options;
        Problems = problems;
        Warnings = warnings;
    }

    /// <summary>The options, when there is no problem.</summary>
    public ReplicationOptions? Options { get; }

    /// <summary>Why the flags were refused: one line each, naming the flag. Empty when <see cref="Succeeded"/>.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>What the operator should fix though start-up may go on (a secret file others can read): one line each.</summary>
    public IReadOnlyList<string> Warnings { get; }

    [MemberNotNullWhen(true, nameof(Options))]
    public bool Succeeded => Options is not null;
}
