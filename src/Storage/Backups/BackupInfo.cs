namespace Aurora.Storage.Backups;

/// <summary>
/// What a backup file says about itself: the cluster it came from, the snapshot's position and
/// term, when the backup was written, the blob's length, checksum and type, and the file's format version.
/// </summary>
public sealed record BackupInfo(
    string Path,
    string ClusterName,
    ulong Position,
    ulong Term,
    DateTimeOffset CreatedAt,
    long BlobLength,
    uint BlobCrc32C,
    string BlobType,
    uint FormatVersion)
{
    /// <summary>When the backed-up snapshot itself was taken (<see cref="CreatedAt"/> is when the backup was written).</summary>
    public DateTimeOffset? SnapshotCreatedAt { get; init; }
}

/// <summary>A backup file that cannot be used, and why.</summary>
public sealed record BackupProblem(string Path, string Problem);
