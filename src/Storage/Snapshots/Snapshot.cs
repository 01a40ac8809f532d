namespace Aurora.Storage.Snapshots;

/// <summary>
/// What a snapshot file's header says: the state folded in up to and including <paramref name="Position"/>,
/// where the log's entry had <paramref name="Term"/>; <paramref name="BlobType"/> names the blob's schema.
/// </summary>
public sealed record SnapshotInfo(
    string Path,
    ulong Position,
    ulong Term,
    DateTimeOffset CreatedAt,
    long BlobLength,
    uint BlobCrc32C,
    string BlobType);

/// <summary>A snapshot read back and verified: its header and its opaque state bytes.</summary>
/// <remarks>The blob is owned by the caller; storage never mutates it after handing it out.</remarks>
public sealed record Snapshot(SnapshotInfo Info, byte[] Blob);

/// <summary>A snapshot file that cannot be used, and why.</summary>
public sealed record SnapshotProblem(string Path, string Problem);

/// <summary>
/// The newest fully valid snapshot (null when there is none) and the newer files that were skipped
/// because they are damaged.
/// </summary>
public sealed record SnapshotLoadResult(Snapshot? Newest, IReadOnlyList<SnapshotProblem> Skipped);
