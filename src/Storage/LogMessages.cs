using Microsoft.Extensions.Logging;

namespace Aurora.Storage;

/// <summary>Storage's log messages, with stable event ids (1000-1099).</summary>
internal static partial class LogMessages
{
    [LoggerMessage(1000, LogLevel.Information, "Opened log {Directory}: positions {First}..{Last} in {Segments} segment(s)")]
    public static partial void Opened(ILogger logger, string directory, ulong first, ulong last, int segments);

    [LoggerMessage(1001, LogLevel.Warning, "Cut off a torn tail in {File} at offset {Offset} ({Bytes} bytes): {Reason}. These bytes were never acknowledged; no action needed.")]
    public static partial void TornTailTruncated(ILogger logger, string file, long offset, long bytes, string reason);

    [LoggerMessage(1002, LogLevel.Information, "Started segment {Path}")]
    public static partial void SegmentRolled(ILogger logger, string path);

    [LoggerMessage(1003, LogLevel.Information, "Truncated {Count} segment(s) before the snapshot; first retained position is now {First}")]
    public static partial void PrefixTruncated(ILogger logger, int count, ulong first);

    [LoggerMessage(1004, LogLevel.Error, "Append from position {Position} failed and was not acknowledged: {Reason}. The log keeps every acknowledged entry and accepts appends again once the cause (e.g. a full disk) is fixed.")]
    public static partial void AppendFailed(ILogger logger, Exception exception, ulong position, string reason);

    [LoggerMessage(1005, LogLevel.Critical, "Fatal write error: {Reason}. The process stops; restart it and it recovers from what is durable on disk. Check the disk (dmesg) first.")]
    public static partial void FatalWriteError(ILogger logger, Exception exception, string reason);

    [LoggerMessage(1006, LogLevel.Information, "Truncated the log after position {LastKept}, deleting {Segments} whole segment(s); the next entry is {LastKept} + 1")]
    public static partial void SuffixTruncated(ILogger logger, ulong lastKept, int segments);

    [LoggerMessage(1007, LogLevel.Information, "Reset the log to continue after position {Position} of term {Term} (a snapshot was installed); {Segments} old segment(s) deleted")]
    public static partial void LogReset(ILogger logger, ulong position, ulong term, int segments);

    [LoggerMessage(1008, LogLevel.Warning, "Finished a reset of the log that a crash interrupted: {File} replaces the {Segments} segment(s) beside it. No action needed.")]
    public static partial void InterruptedResetFinished(ILogger logger, string file, int segments);

    [LoggerMessage(1009, LogLevel.Error, "The log was not changed: {What} failed: {Reason}. The requests queued behind it failed too; retry once the cause (e.g. a full disk) is fixed.")]
    public static partial void RewriteFailed(ILogger logger, Exception exception, string what, string reason);

    [LoggerMessage(1023, LogLevel.Warning, "Could not zero-fill {File} again after truncating it: {Reason}. The log is correct; appends to it are slower until the next segment. Free space on the disk.")]
    public static partial void PreallocationFailed(ILogger logger, Exception exception, string file, string reason);

    [LoggerMessage(1010, LogLevel.Warning, "Snapshot {File} is unusable and was skipped: {Reason}")]
    public static partial void SnapshotSkipped(ILogger logger, string file, string reason);

    [LoggerMessage(1011, LogLevel.Information, "Wrote snapshot {File} at position {Position} (term {Term}, {Bytes} byte blob)")]
    public static partial void SnapshotWritten(ILogger logger, string file, ulong position, ulong term, long bytes);

    [LoggerMessage(1012, LogLevel.Information, "Removed {Count} old snapshot(s) beyond the {Retain} newest; the oldest retained snapshot is at position {Oldest}")]
    public static partial void SnapshotsRemoved(ILogger logger, int count, int retain, ulong oldest);

    [LoggerMessage(1013, LogLevel.Warning, "The snapshot was written, but old snapshots in {Directory} could not be removed: {Reason}. Removal is retried after the next snapshot; check the disk's space and permissions.")]
    public static partial void SnapshotRetentionFailed(ILogger logger, Exception exception, string directory, string reason);

    [LoggerMessage(1014, LogLevel.Information, "Removed {Count} temporary file(s) left in {Directory} by an interrupted write; no action needed")]
    public static partial void LeftoverTempFilesRemoved(ILogger logger, int count, string directory);

    [LoggerMessage(1015, LogLevel.Information, "Saved backup {File} of the snapshot at position {Position} (term {Term}, {Bytes} byte blob)")]
    public static partial void BackupSaved(ILogger logger, string file, ulong position, ulong term, long bytes);

    [LoggerMessage(1016, LogLevel.Information, "Removed {Count} old backup(s) beyond -max_saved_backups={Max}")]
    public static partial void BackupsRemoved(ILogger logger, int count, int max);

    [LoggerMessage(1017, LogLevel.Warning, "The backup was saved, but old backups in {Directory} could not be removed: {Reason}. Removal is retried after the next backup; check the backup disk's space and permissions.")]
    public static partial void BackupRetentionFailed(ILogger logger, Exception exception, string directory, string reason);

    [LoggerMessage(1018, LogLevel.Warning, "Backup {File} is unusable and was left out of the listing: {Reason}. It cannot be used for recovery; check the backup disk, then delete the file.")]
    public static partial void BackupUnusable(ILogger logger, string file, string reason);

    [LoggerMessage(1019, LogLevel.Error, "Scheduled backup to {Directory} failed: {Reason}. It is retried in {Interval}; check that the backup directory is writable and has space.")]
    public static partial void BackupFailed(ILogger logger, Exception exception, string directory, string reason, TimeSpan interval);

    [LoggerMessage(1020, LogLevel.Debug, "The newest snapshot (position {Position}) is already backed up; nothing to do")]
    public static partial void BackupUpToDate(ILogger logger, ulong position);

    [LoggerMessage(1021, LogLevel.Information, "No valid snapshot to back up yet; a backup is taken once the scheduler has written a snapshot")]
    public static partial void NoSnapshotToBackUp(ILogger logger);

    [LoggerMessage(1022, LogLevel.Information, "Backing up snapshots to {Directory} every {Interval}, keeping the {Max} newest (-max_saved_backups)")]
    public static partial void BackupSchedulerStarted(ILogger logger, string directory, TimeSpan interval, int max);
}
