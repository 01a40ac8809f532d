using Aurora.Storage.Protos;

namespace Aurora.Replication.Consensus;

/// <summary>
/// What the consensus core needs from this replica's disk: its metadata (status, promised term,
/// vote) and its log. Every write is durable when the call returns.
/// </summary>
/// <remarks>
/// <para>The core calls these from its one thread, so an implementation needs no locking of its own
/// against the core. A write that throws (or whose task fails) leaves the log as it was before the
/// call or with a prefix of the appended entries (never a gap); the core then refuses to
/// acknowledge anything it wrote and rereads <see cref="LastPosition"/>.</para>
/// <para>A leader and a VOTING follower append with <see cref="AppendAsync"/>: the loop goes on
/// taking acknowledgements, answering and sending heartbeats and starting the next appends while the
/// disk syncs; a leader counts its own entries toward a quorum, and a follower acknowledges them,
/// only once their task completes. Every other write is synchronous and is made only when no
/// append is in flight (the core calls <see cref="FlushAppends"/> first).</para>
/// </remarks>
public interface IReplicaStorage
{
    /// <summary>The replica's status, promised term and vote, as last saved.</summary>
    ReplicaMetadata Metadata { get; }

    /// <summary>Replaces the metadata durably (atomically: the old or the new after a crash).</summary>
    void SaveMetadata(ReplicaMetadata metadata);

    /// <summary>The first position still stored (one past <see cref="LastPosition"/> when the log is empty).</summary>
    ulong FirstPosition { get; }

    /// <summary>The last durable position, 0 for an empty log.</summary>
    ulong LastPosition { get; }

    /// <summary>The term of the entry at a position from <c>FirstPosition - 1</c> to <see cref="LastPosition"/>; 0 for position 0.</summary>
    ulong TermAt(ulong position);

    /// <summary>Entries from <paramref name="from"/> up to <paramref name="to"/>, stopping after roughly <paramref name="maxBytes"/>.</summary>
    IReadOnlyList<LogEntry> Read(ulong from, ulong to, int maxBytes);

    /// <summary>Appends entries whose positions are exactly the next ones; durable on return.</summary>
    void Append(IReadOnlyList<LogEntry> entries);

    /// <summary>
    /// Starts appending entries whose positions follow those of every append started before, and
    /// returns at once: the task completes when they are durable, or fails when the write did (and
    /// then so do the appends started after it). Appends complete in the order they were started;
    /// <see cref="LastPosition"/> covers an append once it is durable. Storage without a write
    /// queue of its own appends synchronously here.
    /// </summary>
    Task AppendAsync(IReadOnlyList<LogEntry> entries)
    {
        try
        {
            Append(entries);
            return Task.CompletedTask;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return Task.FromException(e);
        }
    }

    /// <summary>Waits until every append started by <see cref="AppendAsync"/> has completed, durably or not; never throws for them.</summary>
    void FlushAppends()
    {
    }

    /// <summary>Removes every entry after <paramref name="lastKept"/>, durably.</summary>
    void TruncateSuffix(ulong lastKept);

    /// <summary>The newest snapshot this replica holds, or null.</summary>
    ReplicaSnapshot? LatestSnapshot { get; }

    /// <summary>The blob of a snapshot <see cref="LatestSnapshot"/> returned (verified against its checksum).</summary>
    byte[] ReadSnapshot(ReplicaSnapshot snapshot);

    /// <summary>
    /// Stores a snapshot received from the leader durably, then makes the log continue after it:
    /// entries up to its position are dropped; later ones are kept only if the log holds the
    /// snapshot's own entry with the snapshot's term (they then extend the same history).
    /// </summary>
    void InstallSnapshot(ReplicaSnapshot snapshot, byte[] blob);
}

/// <summary>A snapshot's header: every entry up to and including <paramref name="Position"/> (of <paramref name="Term"/>) is folded into the blob.</summary>
public sealed record ReplicaSnapshot(ulong Position, ulong Term, string BlobType, long CreatedMicros, ulong Length, uint Crc32C);
