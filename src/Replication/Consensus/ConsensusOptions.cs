using Aurora.Replication.Membership;

namespace Aurora.Replication.Consensus;

/// <summary>The settings of one replica's consensus core.</summary>
public sealed record ConsensusOptions
{
    /// <summary>This replica's id (its host:port in the membership).</summary>
    public required string SelfId { get; init; }

    /// <summary>Where this replica serves its clients (the scheduler's HTTP base URL); followers learn the leader's from its appends.</summary>
    public string? ServiceUrl { get; init; }

    /// <summary>Every member, this replica included.</summary>
    public required IReadOnlyList<string> Members { get; init; }

    /// <summary>How many VOTING replicas must hold an entry to commit it, and grant votes to elect a leader.</summary>
    public required int Quorum { get; init; }

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Elections start after a random timeout in [min, max) without hearing from a leader.</summary>
    public TimeSpan ElectionTimeoutMin { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan ElectionTimeoutMax { get; init; } = TimeSpan.FromMilliseconds(600);

    /// <summary>
    /// A leader that has not had a round of heartbeats acknowledged by a quorum for this long stops
    /// accepting proposals and steps down. Shorter than <see cref="ElectionTimeoutMin"/>.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The most entry bytes one append message carries.</summary>
    public int MaxAppendBytes { get; init; } = 1 << 20;

    /// <summary>How many entries may be in flight (sent, not acknowledged) to one follower.</summary>
    public int MaxInflightEntries { get; init; } = 8192;

    /// <summary>The bytes of snapshot one chunk carries.</summary>
    public int SnapshotChunkBytes { get; init; } = 1 << 20;

    /// <summary>What a problem with these settings is, or null.</summary>
    public string? Problem()
    {
        if (!Members.Contains(SelfId))
        {
            return $"this replica ({SelfId}) is not among the members ({string.Join(",", Members)})";
        }

        if (Members.Distinct(StringComparer.Ordinal).Count() != Members.Count)
        {
            return "the members list has duplicates";
        }

        if (QuorumRule.Check(Members.Count, Quorum) is { } quorumProblem)
        {
            return quorumProblem;
        }

        if (HeartbeatInterval <= TimeSpan.Zero || HeartbeatInterval >= Lease)
        {
            return $"the heartbeat interval ({HeartbeatInterval.TotalMilliseconds} ms) must be positive and shorter than the lease ({Lease.TotalMilliseconds} ms)";
        }

        if (Lease >= ElectionTimeoutMin || ElectionTimeoutMin >= ElectionTimeoutMax)
        {
            return $"the lease ({Lease.TotalMilliseconds} ms) must be shorter than the minimum election timeout ({ElectionTimeoutMin.TotalMilliseconds} ms), which must be shorter than the maximum ({ElectionTimeoutMax.TotalMilliseconds} ms)";
        }

        return MaxAppendBytes <= 0 || MaxInflightEntries <= 0 || SnapshotChunkBytes <= 0 ? "sizes must be positive" : null;
    }
}
