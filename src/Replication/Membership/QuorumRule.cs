namespace Aurora.Replication.Membership;

/// <summary>
/// The one rule every quorum size obeys, <c>floor(N/2)+1 &lt;= Q &lt;= N</c> for N voting replicas:
/// checked at start-up for <c>-native_log_quorum_size</c>, and by every <see cref="MembershipView"/>.
/// </summary>
/// <remarks>
/// <para>
/// Why a majority: an entry is committed once Q replicas hold it, and a leader is elected by Q
/// votes. Safety needs any two quorums to share at least one replica, so that a new leader's quorum
/// always contains a replica holding every committed entry (and two candidates in one term cannot
/// both win). Two sets of Q replicas out of N must overlap exactly when <c>Q + Q &gt; N</c>, that is
/// <c>2Q &gt; N</c>, that is <c>Q &gt;= floor(N/2)+1</c>. With <c>Q = floor(N/2)</c> or less, two
/// disjoint groups can each commit or elect without hearing of the other: split brain, and
/// committed entries lost. Aurora only warns about such a quorum; we refuse it.
/// </para>
/// <para>
/// A quorum larger than the majority is allowed: it tolerates fewer failures (N - Q) but stays safe,
/// and the procedure Aurora inherits from the Mesos log for growing from 3 to 5 replicas needs it:
/// restart the 3 replicas with a quorum of 3 (all of them, above their majority of 2), so that no 2
/// of them can commit on their own; then start the 2 new ones and restart the old ones with the
/// 5-entry list and the same quorum of 3, now the majority. Any 3 of the 5 include one of the old
/// 3, so every quorum along the way shares a replica with every other (docs/replication.md). A
/// quorum above N could never be reached, and one of 0 or less means nothing.
/// </para>
/// <para>Pure and thread-safe.</para>
/// </remarks>
public static class QuorumRule
{
    /// <summary>The flag that sets the quorum size (Aurora's name).</summary>
    public const string QuorumFlag = "native_log_quorum_size";

    /// <summary>The smallest quorum of <paramref name="replicas"/> voters: <c>floor(N/2)+1</c>.</summary>
    public static int Majority(int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        return (replicas / 2) + 1;
    }

    /// <summary>Whether <paramref name="quorum"/> is a valid quorum size for <paramref name="replicas"/> voters.</summary>
    public static bool IsValid(int replicas, int quorum) => quorum >= Majority(replicas) && quorum <= replicas;

    /// <summary>
    /// Null when <paramref name="quorum"/> is a valid quorum size for <paramref name="replicas"/>
    /// voters; otherwise the problem, in one line that names both numbers and the rule.
    /// </summary>
    /// <param name="replicas">The number of voting replicas, at least 1.</param>
    /// <param name="quorum">The quorum size asked for.</param>
    /// <param name="replicasFrom">Where the replicas are listed, for the message.</param>
    public static string? Check(int replicas, int quorum, string replicasFrom = "-native_log_replicas")
    {
        var majority = Majority(replicas);
        var rule = $"floor({replicas}/2)+1 = {majority}";
        if (quorum > replicas)
        {
            return $"-{QuorumFlag}={quorum} is more than the {replicas} replicas in {replicasFrom}: it must be at least {rule} and at most {replicas}";
        }

        return quorum < majority
            ? $"-{QuorumFlag}={quorum} is not a majority of the {replicas} replicas in {replicasFrom}: it must be at least {rule} (and at most {replicas})"
            : null;
    }
}
