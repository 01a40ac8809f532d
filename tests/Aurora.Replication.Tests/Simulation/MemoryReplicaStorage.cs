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
    private readonly List<LogEntry> _entries = [];
    private ReplicaMetadata _metadata;

    public MemoryReplicaStorage(ReplicaStatus status) => _metadata = new ReplicaMetadata { Status = status };

    public ReplicaMetadata Metadata => _metadata.Clone();

    public ulong FirstPosition => 1;

    public ulong LastPosition => (ulong)_entries.Count;

    public int Writes { get; private set; }

    public void SaveMetadata(ReplicaMetadata metadata)
    {
        _metadata = metadata.Clone();
        Writes++;
    }

    public ulong TermAt(ulong position) =>
        position == 0 ? 0
        : position <= LastPosition ? _entries[(int)position - 1].Term
        : throw new ArgumentOutOfRangeException(nameof(position), $"position {position} is beyond the last {LastPosition}");

    public IReadOnlyList<LogEntry> Read(ulong from, ulong to, int maxBytes)
    {
        var result = new List<LogEntry>();
        var bytes = 0;
        for (var p = from; p <= Math.Min(to, LastPosition); p++)
        {
            var entry = _entries[(int)p - 1];
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

        Writes++;
    }

    public void TruncateSuffix(ulong lastKept)
    {
        _entries.RemoveRange((int)lastKept, _entries.Count - (int)lastKept);
        Writes++;
    }

    /// <summary>Every entry, for the checks at the end of a run.</summary>
    public IReadOnlyList<LogEntry> All => _entries;

    /// <summary>The disk is lost: the replica comes back EMPTY.</summary>
    public void Wipe()
    {
        _entries.Clear();
        _metadata = new ReplicaMetadata { Status = ReplicaStatus.Empty };
    }

    public static string ValueOf(LogEntry entry) => entry.Payload is null ? string.Empty : entry.Payload.Value.ToStringUtf8();

    public static Google.Protobuf.WellKnownTypes.Any Payload(string value) =>
        new() { TypeUrl = "type.aurora/sim.Value", Value = ByteString.CopyFromUtf8(value) };
}
