namespace Aurora.Replication.Membership;

/// <summary>
/// One version of the membership: who votes, which of them is this replica, and how many
/// acknowledgements make a quorum. Read it once per decision, so that the voters and the quorum
/// size always belong together.
/// </summary>
/// <remarks>
/// Immutable and safe to share between threads. Every view obeys <see cref="QuorumRule"/> and lists
/// this replica among the voters: the constructor refuses anything else, so no code path can hand the
/// consensus a quorum that is not a majority.
/// </remarks>
public sealed class MembershipView
{
    private readonly HashSet<string> _voters;

    /// <param name="version">Increases with every change; the first view of a membership is version 1.</param>
    /// <param name="selfId">This replica's id (<see cref="ReplicaAddress.Id"/>).</param>
    /// <param name="voterIds">Every voting replica's id, this one included, each once.</param>
    /// <param name="quorumSize">Acknowledgements (votes, or copies of an entry) that make a quorum.</param>
    /// <exception cref="ArgumentException">A duplicate id, <paramref name="selfId"/> not among the voters, or a quorum size <see cref="QuorumRule"/> refuses.</exception>
    public MembershipView(long version, string selfId, IEnumerable<string> voterIds, int quorumSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        ArgumentException.ThrowIfNullOrEmpty(selfId);
        ArgumentNullException.ThrowIfNull(voterIds);
        var voters = voterIds.ToList();
        _voters = new HashSet<string>(voters, StringComparer.Ordinal);
        if (_voters.Count != voters.Count)
        {
            throw new ArgumentException($"a voter is listed twice: {string.Join(", ", voters)}", nameof(voterIds));
        }

        if (!_voters.Contains(selfId))
        {
            throw new ArgumentException($"this replica {selfId} is not among the voters {string.Join(", ", voters)}", nameof(selfId));
        }

        if (QuorumRule.Check(voters.Count, quorumSize) is { } problem)
        {
            throw new ArgumentException(problem, nameof(quorumSize));
        }

        Version = version;
        SelfId = selfId;
        VoterIds = voters.AsReadOnly();
        QuorumSize = quorumSize;
    }

    /// <summary>Increases with every change of the membership.</summary>
    public long Version { get; }

    /// <summary>This replica's id.</summary>
    public string SelfId { get; }

    /// <summary>Every voting replica's id, this one included, in the order configured.</summary>
    public IReadOnlyList<string> VoterIds { get; }

    /// <summary>How many voters (this one counted when it acknowledges) make a quorum.</summary>
    public int QuorumSize { get; }

    /// <summary>Whether <paramref name="replicaId"/> votes in this membership.</summary>
    public bool IsVoter(string replicaId) => _voters.Contains(replicaId);

    /// <summary>
    /// Whether <paramref name="replicaIds"/> (votes granted, or replicas holding an entry) make a
    /// quorum: at least <see cref="QuorumSize"/> distinct voters. Ids of non-voters and repeats do not count.
    /// </summary>
    public bool IsQuorum(IEnumerable<string> replicaIds)
    {
        ArgumentNullException.ThrowIfNull(replicaIds);
        return replicaIds.Where(_voters.Contains).Distinct(StringComparer.Ordinal).Count() >= QuorumSize;
    }

    /// <summary>"version 1: 2 of a:8083, b:8083, c:8083 (self a:8083)".</summary>
    public override string ToString() => $"version {Version}: {QuorumSize} of {string.Join(", ", VoterIds)} (self {SelfId})";
}
