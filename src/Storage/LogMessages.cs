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

    [LoggerMessage(1010, LogLevel.Warning, "Snapshot {File} is unusable and was skipped: {Reason}")]
    public static partial void SnapshotSkipped(ILogger logger, string file, string reason);
}
