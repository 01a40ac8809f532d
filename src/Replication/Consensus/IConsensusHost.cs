using Aurora.Replication.Protos;
using Aurora.Storage.Protos;

namespace Aurora.Replication.Consensus;

/// <summary>Where the consensus core's effects go: messages, committed entries, proposal and read outcomes.</summary>
/// <remarks>
/// The core calls these on its own thread, synchronously. <see cref="Send"/> must not block
/// (the transport queues); the others should hand work off rather than do it inline.
/// </remarks>
public interface IConsensusHost
{
    /// <summary>Sends a message to a peer, best effort: the protocol tolerates loss, duplication and reordering.</summary>
    void Send(string to, PeerMessage message);

    /// <summary>
    /// A committed entry, delivered in position order, each exactly once per run of the core.
    /// Entries without a payload mark the start of a leader's term: the state machine skips them.
    /// </summary>
    void Deliver(LogEntry entry);

    /// <summary>
    /// The replica installed a snapshot from the leader: the state machine replaces its state with
    /// the blob, and delivery continues after the snapshot's position.
    /// </summary>
    void SnapshotInstalled(ReplicaSnapshot snapshot, byte[] blob);

    /// <summary>A proposal is committed (at the positions in <paramref name="outcome"/>) or failed.</summary>
    void ProposalResolved(long proposalId, ProposalOutcome outcome);

    /// <summary>A read barrier is passed (the state at its position may be read) or failed.</summary>
    void ReadResolved(long readId, ReadOutcome outcome);

    /// <summary>
    /// Calls <paramref name="continuation"/> on the core's thread once <paramref name="write"/> (a
    /// local append the leader started) has completed, durably or not. Never inline from this call:
    /// the core is in the middle of the append.
    /// </summary>
    void WhenWritten(Task write, Action continuation);

    /// <summary>Leadership changed: a new leader is known or serving, or this replica lost leadership.</summary>
    void LeadershipChanged(LeadershipChange change);

    /// <summary>
    /// What the state machine has applied and its newest snapshot, which this replica reports to
    /// its leader for operators; null when the host does not say (then the delivered position is
    /// reported, and no snapshot). Read on the core's thread; must be cheap.
    /// </summary>
    StateMachineProgress? Progress => null;
}

/// <summary>How far a replica's state machine is: the position it has applied, and its newest snapshot's (0 when none).</summary>
public readonly record struct StateMachineProgress(ulong AppliedPosition, ulong SnapshotPosition);

/// <summary>What happened to a proposal.</summary>
/// <param name="Committed">True when every entry of the proposal is committed.</param>
/// <param name="FirstPosition">The position of its first entry (when committed).</param>
/// <param name="LastPosition">The position of its last entry (when committed).</param>
/// <param name="Term">The term it was proposed in.</param>
/// <param name="Failure">Why it failed, when it did.</param>
/// <param name="MayHaveCommitted">
/// On a failure: true when the entries had reached other replicas (leadership was lost after they
/// were sent), so that a later leader may still commit them; the caller must treat the outcome as
/// unknown. False when they certainly never will be.
/// </param>
public sealed record ProposalOutcome(bool Committed, ulong FirstPosition, ulong LastPosition, ulong Term, string? Failure, bool MayHaveCommitted)
{
    public static ProposalOutcome Failed(ulong term, string why, bool mayHaveCommitted) => new(false, 0, 0, term, why, mayHaveCommitted);
}

/// <summary>
/// What happened to a read barrier: once the replica has applied <see cref="Position"/>, its state
/// includes every write acknowledged before the read began.
/// </summary>
public sealed record ReadOutcome(bool Ok, ulong Position, string? Failure);

/// <summary>A change of leadership as this replica sees it.</summary>
/// <param name="Term">The term of the change.</param>
/// <param name="LeaderId">The leader's id, or null when none is known.</param>
/// <param name="IsSelf">True when this replica is the leader and serves (it has committed its term's first entry).</param>
public sealed record LeadershipChange(ulong Term, string? LeaderId, bool IsSelf);
