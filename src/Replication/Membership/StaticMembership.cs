using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Aurora.Replication.Membership;

/// <summary>
/// The membership given on the command line: every replica in <c>-native_log_replicas</c> votes,
/// this replica is the entry that <c>-replication_port</c> (and <c>-hostname</c>, when given) names,
/// and the quorum size is fixed. It never changes while the process runs.
/// </summary>
/// <remarks>
/// <para>
/// Finding this replica: an entry matches when its port is <c>-replication_port</c> and, when
/// <c>-hostname</c> is given, its host is that host. Exactly one entry must match. Hosts are matched
/// literally, in their canonical spelling (<see cref="ReplicaAddress"/>), never by resolving them:
/// <c>localhost</c>, <c>127.0.0.1</c> and <c>[::1]</c> are different hosts, and neither matches the
/// machine's own name. A replica that guessed itself by resolving could pick the wrong entry on a
/// machine with several names, and then vote under another replica's id.
/// </para>
/// <para>Immutable; safe to share between threads.</para>
/// </remarks>
public sealed class StaticMembership : IMembership
{
    /// <summary>The most replicas a list may hold: more only slows every commit down.</summary>
    public const int MaxReplicas = 9;

    /// <summary>Flag names, for messages.</summary>
    private const string ReplicasFlag = ReplicationFlags.Replicas;
    private const string PortFlag = ReplicationFlags.ReplicationPort;
    private const string HostnameFlag = ReplicationFlags.Hostname;

    /// <param name="replicas">Every voting replica, each once (as <see cref="TryParseReplicas"/> returns them).</param>
    /// <param name="self">This replica, one of <paramref name="replicas"/> (as <see cref="TryFindSelf"/> returns it).</param>
    /// <param name="quorumSize">A quorum size <see cref="QuorumRule"/> accepts for the list.</param>
    /// <exception cref="ArgumentException">The list is empty, too long or has duplicates, self is not in it, or the quorum size is refused.</exception>
    public StaticMembership(IReadOnlyList<ReplicaAddress> replicas, ReplicaAddress self, int quorumSize)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(self);
        if (replicas.Count is 0 or > MaxReplicas)
        {
            throw new ArgumentException($"a membership has 1 to {MaxReplicas} replicas, not {replicas.Count}", nameof(replicas));
        }

        Replicas = [.. replicas];
        Self = self;
        Current = new MembershipView(1, self.Id, replicas.Select(r => r.Id), quorumSize);
    }

    /// <summary>Every voting replica's address, in the order listed.</summary>
    public IReadOnlyList<ReplicaAddress> Replicas { get; }

    /// <summary>This replica's address.</summary>
    public ReplicaAddress Self { get; }

    public string SelfId => Self.Id;

    /// <summary>Version 1, for ever.</summary>
    public MembershipView Current { get; }

    /// <summary>A static membership never changes: the event is never raised.</summary>
    public event EventHandler<MembershipView>? Changed
    {
        add { }
        remove { }
    }

    /// <summary>The membership's one view, e.g. "version 1: 2 of a:8083, b:8083, c:8083 (self a:8083)".</summary>
    public override string ToString() => Current.ToString();

    /// <summary>
    /// Parses <c>-native_log_replicas</c>: <c>host:port</c> entries separated by commas (white space
    /// around each is ignored), 1 to <see cref="MaxReplicas"/>, no empty entry, no replica twice.
    /// </summary>
    /// <param name="text">The flag's value; null or blank when the flag is not given.</param>
    /// <param name="replicas">The addresses in the order listed, when the list is valid; empty otherwise.</param>
    /// <param name="problems">Otherwise one line per problem, each naming the flag, the item and its position.</param>
    public static bool TryParseReplicas(string? text, out IReadOnlyList<ReplicaAddress> replicas, out IReadOnlyList<string> problems)
    {
        replicas = [];
        if (string.IsNullOrWhiteSpace(text))
        {
            problems = [$"-{ReplicasFlag} is required: every replica's host:port, this one included, e.g. -{ReplicasFlag}=replica1.example.com:8083,replica2.example.com:8083,replica3.example.com:8083"];
            return false;
        }

        var items = text.Split(',');
        var found = new List<string>();
        var parsed = new List<ReplicaAddress>();
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Length; i++)
        {
            var item = items[i].Trim();
            var where = string.Create(CultureInfo.InvariantCulture, $"item {i + 1} of {items.Length}");
            if (item.Length == 0)
            {
                found.Add($"-{ReplicasFlag}: {where} is empty (a stray comma?); list each replica as host:port, separated by single commas");
                continue;
            }

            if (!ReplicaAddress.TryParse(item, out var address, out var problem))
            {
                found.Add($"-{ReplicasFlag}: {where} \"{item}\": {problem}");
                continue;
            }

            if (firstIndex.TryGetValue(address.Id, out var first))
            {
                found.Add(string.Create(CultureInfo.InvariantCulture, $"-{ReplicasFlag}: {where} \"{item}\" is the same replica as item {first + 1} \"{items[first].Trim()}\" ({address.Id}); list each replica once"));
                continue;
            }

            firstIndex[address.Id] = i;
            parsed.Add(address);
        }

        if (items.Length > MaxReplicas)
        {
            found.Add(string.Create(CultureInfo.InvariantCulture, $"-{ReplicasFlag} lists {items.Length} replicas; at most {MaxReplicas} are supported (5 already survive 2 failures)"));
        }

        problems = found;
        if (found.Count > 0)
        {
            return false;
        }

        replicas = parsed;
        return true;
    }

    /// <summary>
    /// Finds this replica in <paramref name="replicas"/>: the one entry whose port is
    /// <paramref name="replicationPort"/> and, when <paramref name="hostname"/> is given, whose host is
    /// that host (literally: see the remarks on <see cref="StaticMembership"/>).
    /// </summary>
    /// <param name="replicas">The parsed list.</param>
    /// <param name="replicationPort">The port this replica listens on (<c>-replication_port</c>).</param>
    /// <param name="hostname"><c>-hostname</c> as given; null or blank when not given.</param>
    /// <param name="self">The entry, when exactly one matches.</param>
    /// <param name="problem">Otherwise why not, in one line naming the flags and the entries.</param>
    public static bool TryFindSelf(IReadOnlyList<ReplicaAddress> replicas, int replicationPort, string? hostname, [NotNullWhen(true)] out ReplicaAddress? self, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        self = null;
        string? host = null;
        if (!string.IsNullOrWhiteSpace(hostname) && !ReplicaAddress.TryParseHost(hostname, out host, out var hostProblem))
        {
            problem = $"-{HostnameFlag}={hostname}: {hostProblem}";
            return false;
        }

        var matches = replicas.Where(r => r.Port == replicationPort && (host is null || r.Host == host)).ToList();
        var list = string.Join(",", replicas.Select(r => r.Id));
        switch (matches.Count)
        {
            case 1:
                self = matches[0];
                problem = null;
                return true;
            case 0 when host is null:
                problem = string.Create(CultureInfo.InvariantCulture, $"-{PortFlag}={replicationPort} matches no replica in -{ReplicasFlag}={list}: this replica must be listed with port {replicationPort}");
                return false;
            case 0:
                var id = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{replicationPort}" : $"{host}:{replicationPort}";
                problem = string.Create(CultureInfo.InvariantCulture, $"-{HostnameFlag}={hostname} -{PortFlag}={replicationPort} match no replica in -{ReplicasFlag}={list}: this replica must be listed as {id} (hosts are matched literally, without DNS: localhost, 127.0.0.1 and [::1] are different hosts)");
                return false;
            default:
                problem = string.Create(CultureInfo.InvariantCulture, $"-{PortFlag}={replicationPort} matches {matches.Count} replicas in -{ReplicasFlag} ({string.Join(", ", matches.Select(m => m.Id))}): give -{HostnameFlag} to say which of them this replica is");
                return false;
        }
    }
}
