using Aurora.Replication.Consensus;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.Replication.Storage;

/// <summary>
/// A replica's disk as the consensus core sees it: the segmented log, its snapshots and
/// <c>replica.meta</c> in one log directory.
/// </summary>
/// <remarks>
/// Every synchronous write is durable on return: appends and suffix truncations go through the
/// log's writer thread and its fdatasync, metadata and snapshots through atomic file replacement.
/// <see cref="AppendAsync"/> queues on the same writer, which runs everything in the order it was
/// called and groups queued appends into one fdatasync. The core calls
/// from its one thread; the host may take snapshots and truncate the log's prefix from another
/// (<see cref="SegmentedLog.TruncatePrefix"/> and <see cref="SnapshotStore.Write"/> are thread-safe).
/// </remarks>
public sealed class LogReplicaStorage(SegmentedLog log, SnapshotStore snapshots, ReplicaMetadataStore metadata) : IReplicaStorage
{
    /// <summary>About how many bytes of the newest entries <see cref="_tail"/> keeps.</summary>
    private const int TailBytes = 256 << 10;

    /// <summary>
    /// Copies of the newest entries appended (durable, or queued on the log's writer), at
    /// consecutive positions: the core reads the log's tail after every commit (to deliver what
    /// just committed) and for every follower a little behind, and a read of the segment allocates
    /// and checks a buffer from the nearest index point to the segment's end (often 100 KB or more,
    /// on the large object heap) to decode entries this replica held a moment ago.
    /// </summary>
    private readonly List<LogEntry> _tail = [];
    private long _tailBytes;
    private Task _lastAppend = Task.CompletedTask;
    private ReplicaMetadata _metadata = metadata.Load();

    public SegmentedLog Log => log;

    public SnapshotStore Snapshots => snapshots;

    public ReplicaMetadata Metadata => _metadata.Clone();

    public ulong FirstPosition => log.FirstRetainedPosition;

    public ulong LastPosition => log.LastDurablePosition;

    public ReplicaSnapshot? LatestSnapshot =>
        snapshots.List().MaxBy(s => s.Position) is { } info
            ? new ReplicaSnapshot(info.Position, info.Term, info.BlobType, (info.CreatedAt - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond, (ulong)info.BlobLength, info.BlobCrc32C)
            : null;

    public void SaveMetadata(ReplicaMetadata replicaMetadata)
    {
        metadata.Save(replicaMetadata);
        _metadata = replicaMetadata.Clone();
    }

    public ulong TermAt(ulong position) => log.TermAt(position);

    public IReadOnlyList<LogEntry> Read(ulong from, ulong to, int maxBytes)
    {
        // Only durable entries are read. The tail serves them only while it reaches the log's
        // durable end: a change made to the log directly makes it stale. Entries it holds past
        // the durable end are queued, or were lost with a failed append (the next append then
        // starts over at the durable end, and the tail with it).
        to = Math.Min(to, log.LastDurablePosition);
        var fromMemory = _tail.Count > 0 && _tail[^1].Position >= log.LastDurablePosition && from >= _tail[0].Position && from >= log.FirstRetainedPosition;
        var source = fromMemory
            ? _tail.Skip((int)Math.Min(from - _tail[0].Position, (ulong)_tail.Count)).TakeWhile(e => e.Position <= to)
            : log.Read(from, to);
        var entries = new List<LogEntry>();
        var bytes = 0;
        foreach (var entry in source)
        {
            var size = entry.CalculateSize();
            if (entries.Count > 0 && bytes + size > maxBytes)
            {
                break;
            }

            // What the memory holds stays as it was appended: readers get copies, as from the log.
            entries.Add(fromMemory ? entry.Clone() : entry);
            bytes += size;
        }

        return entries;
    }

    public void Append(IReadOnlyList<LogEntry> entries) => AppendAsync(entries).GetAwaiter().GetResult();

    public Task AppendAsync(IReadOnlyList<LogEntry> entries)
    {
        var write = log.AppendAsync(entries);
        _lastAppend = write;
        Remember(entries);
        return write;
    }

    public void FlushAppends()
    {
        try
        {
            _lastAppend.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // The core learns of it from the append's own task.
        }
    }

    private void Remember(IReadOnlyList<LogEntry> entries)
    {
        if (_tail.Count > 0 && entries[0].Position != _tail[^1].Position + 1)
        {
            _tail.Clear();
            _tailBytes = 0;
        }

        foreach (var entry in entries)
        {
            _tail.Add(entry.Clone());
            _tailBytes += entry.CalculateSize();
        }

        if (_tailBytes > 2 * TailBytes)
        {
            // Dropped in bulk, down to the budget: one shift of the list per TailBytes appended.
            var drop = 0;
            while (_tailBytes > TailBytes)
            {
                _tailBytes -= _tail[drop++].CalculateSize();
            }

            _tail.RemoveRange(0, drop);
        }
    }

    public void TruncateSuffix(ulong lastKept)
    {
        log.TruncateSuffixAsync(lastKept).GetAwaiter().GetResult();
        while (_tail.Count > 0 && _tail[^1].Position > lastKept)
        {
            _tailBytes -= _tail[^1].CalculateSize();
            _tail.RemoveAt(_tail.Count - 1);
        }
    }

    public byte[] ReadSnapshot(ReplicaSnapshot snapshot)
    {
        var read = snapshots.Read(snapshots.PathFor(snapshot.Position));
        return read.Info.BlobCrc32C == snapshot.Crc32C
            ? read.Blob
            : throw new InvalidDataException($"the snapshot at {snapshot.Position} changed while it was being sent");
    }

    public void InstallSnapshot(ReplicaSnapshot snapshot, byte[] blob)
    {
        _tail.Clear();
        _tailBytes = 0;
        // The snapshot first: a crash before the log is reset leaves a snapshot ahead of the log,
        // which a restart loads and continues after.
        snapshots.Write(snapshot.Position, snapshot.Term, snapshot.BlobType, blob);
        if (snapshot.Position >= log.FirstRetainedPosition - 1 && snapshot.Position <= log.LastDurablePosition && log.TermAt(snapshot.Position) == snapshot.Term)
        {
            log.TruncatePrefix(snapshot.Position + 1);
            return;
        }

        log.ResetAsync(snapshot.Position, snapshot.Term).GetAwaiter().GetResult();
    }
}
