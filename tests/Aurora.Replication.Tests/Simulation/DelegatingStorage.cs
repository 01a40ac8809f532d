using Aurora.Replication.Consensus;
using Aurora.Storage.Protos;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>Storage that passes every call to another: tests override the calls they change (a full disk, a count, a queue).</summary>
internal abstract class DelegatingStorage(IReplicaStorage inner) : IReplicaStorage
{
    protected IReplicaStorage Inner => inner;

    public ReplicaMetadata Metadata => inner.Metadata;

    public ulong FirstPosition => inner.FirstPosition;

    public ulong LastPosition => inner.LastPosition;

    public ReplicaSnapshot? LatestSnapshot => inner.LatestSnapshot;

    public virtual void SaveMetadata(ReplicaMetadata metadata) => inner.SaveMetadata(metadata);

    public ulong TermAt(ulong position) => inner.TermAt(position);

    public IReadOnlyList<LogEntry> Read(ulong from, ulong to, int maxBytes) => inner.Read(from, to, maxBytes);

    public virtual void Append(IReadOnlyList<LogEntry> entries) => inner.Append(entries);

    /// <summary>Appends synchronously through <see cref="Append"/> (so that an override of it applies), as storage without a write queue does.</summary>
    public virtual Task AppendAsync(IReadOnlyList<LogEntry> entries)
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

    public virtual void FlushAppends() => inner.FlushAppends();

    public virtual void TruncateSuffix(ulong lastKept) => inner.TruncateSuffix(lastKept);

    public byte[] ReadSnapshot(ReplicaSnapshot snapshot) => inner.ReadSnapshot(snapshot);

    public virtual void InstallSnapshot(ReplicaSnapshot snapshot, byte[] blob) => inner.InstallSnapshot(snapshot, blob);
}
