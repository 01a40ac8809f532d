using Aurora.Replication.Consensus;
using Aurora.Storage.Protos;
using Google.Protobuf;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>
/// A replica's disk as a list in memory: every call is durable at once, and it survives the
/// replica's crashes (the simulator keeps it) unless the simulator wipes it.
/// </summary>
internal sealed class MemoryReplicaStorage : IReplicaStorage
{
    private readonly List<LogEntry> _entries = [];  // positions _base + 1 ...
    private ulong _base;                             // the position before the first stored entry
    private ulong _baseTerm;
    private ReplicaMetadata _metadata;
    private (ReplicaSnapshot Snapshot, byte[] Blob)? _snapshot;

    public MemoryReplicaStorage(ReplicaStatus status) => _metadata = new ReplicaMetadata { Status = status };

    public ReplicaMetadata Metadata => _metadata.Clone();

    public ulong FirstPosition => _base + 1;

    public ulong LastPosition => _base + (ulong)_entries.Count;

    public ReplicaSnapshot? LatestSnapshot => _snapshot?.Snapshot;

    public void SaveMetadata(ReplicaMetadata metadata) => _metadata = metadata.Clone();

    public ulong TermAt(ulong position) =>
        position == _base ? _baseTerm
        : position > _base && position <= LastPosition ? _entries[(int)(position - _base) - 1].Term
        : throw new ArgumentOutOfRangeException(nameof(position), $"position {position} is outside {_base}..{LastPosition}");

    public IReadOnlyList<LogEntry> Read(ulong from, ulong to, int maxBytes)
    {
        if (from <= _base)
        {
            throw new ArgumentOutOfRangeException(nameof(from), $"position {from} is truncated (first {FirstPosition})");
        }

        var result = new List<LogEntry>();
        var bytes = 0;
        for (var p = from; p <= Math.Min(to, LastPosition); p++)
        {
            var entry = _entries[(int)(p - _base) - 1];
            if (result.Count > 0 && bytes + entry.CalculateSize() > maxBytes)
            {
                break;
            }

            result.Add(entry.Clone());
            bytes += entry.CalculateSize();
        }

        return result;
    }

    public void Append(IReadOnlyList<LogEntry> entries)
    {
        foreach (var entry in entries)
        {
            if (entry.Position != LastPosition + 1)
            {
                throw new ArgumentException($"entry position {entry.Position} is not the next position {LastPosition + 1}");
            }

            if (entry.Term < TermAt(LastPosition))
            {
                throw new ArgumentException($"entry term {entry.Term} is lower than the log's last term {TermAt(LastPosition)}");
            }

            _entries.Add(entry.Clone());
        }
    }

    public void TruncateSuffix(ulong lastKept)
    {
        if (lastKept < _base)
        {
            throw new ArgumentOutOfRangeException(nameof(lastKept), $"cannot truncate below the first position {FirstPosition}");
        }

        _entries.RemoveRange((int)(lastKept - _base), _entries.Count - (int)(lastKept - _base));
    }

    /// <summary>What the host does after a snapshot: drops the entries before <paramref name="keepFrom"/>.</summary>
    public void TruncatePrefix(ulong keepFrom)
    {
        var drop = (int)Math.Min((ulong)_entries.Count, keepFrom - 1 - Math.Min(keepFrom - 1, _base));
        if (drop > 0)
        {
            _baseTerm = _entries[drop - 1].Term;
            _base += (ulong)drop;
            _entries.RemoveRange(0, drop);
        }
    }

    public void WriteSnapshot(ReplicaSnapshot snapshot, byte[] blob) => _snapshot = (snapshot, blob.ToArray());

    public byte[] ReadSnapshot(ReplicaSnapshot snapshot) =>
        _snapshot is { } s && s.Snapshot == snapshot ? s.Blob.ToArray() : throw new InvalidOperationException($"no snapshot at {snapshot.Position}");

    public void InstallSnapshot(ReplicaSnapshot snapshot, byte[] blob)
    {
        WriteSnapshot(snapshot, blob);
        if (snapshot.Position >= _base && snapshot.Position <= LastPosition && TermAt(snapshot.Position) == snapshot.Term)
        {
            TruncatePrefix(snapshot.Position + 1);
            return;
        }

        _entries.Clear();
        _base = snapshot.Position;
        _baseTerm = snapshot.Term;
    }

    /// <summary>Every stored entry, for the checks at the end of a run.</summary>
    public IReadOnlyList<LogEntry> Stored => _entries;

    /// <summary>The disk is lost: the replica comes back EMPTY.</summary>
    public void Wipe()
    {
        _entries.Clear();
        _base = 0;
        _baseTerm = 0;
        _snapshot = null;
        _metadata = new ReplicaMetadata { Status = ReplicaStatus.Empty };
    }

    public static string ValueOf(LogEntry entry) => entry.Payload is null ? string.Empty : entry.Payload.Value.ToStringUtf8();

    public static Google.Protobuf.WellKnownTypes.Any Payload(string value) =>
        new() { TypeUrl = "type.aurora/sim.Value", Value = ByteString.CopyFromUtf8(value) };
}
