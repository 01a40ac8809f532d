using Microsoft.Extensions.Logging;

namespace Aurora.Scheduler.Persistence;

/// <summary>The persistence layer's log messages, with stable event ids (2000-2039).</summary>
internal static partial class PersistenceMessages
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information,
        Message = "Scheduler state recovered at log position {Position} (snapshot at {SnapshotPosition}, {Entries} entries replayed, {Tasks} tasks)")]
    public static partial void Recovered(ILogger logger, ulong position, ulong snapshotPosition, long entries, int tasks);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning,
        Message = "Snapshot {Path} skipped: {Problem}. An older snapshot and a longer replay are used instead; remove or restore the file")]
    public static partial void SnapshotSkipped(ILogger logger, string path, string problem);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information,
        Message = "Snapshot written at log position {Position} ({Bytes} bytes, state hash {Hash})")]
    public static partial void SnapshotWritten(ILogger logger, ulong position, long bytes, string hash);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Critical,
        Message = "Committed log entry {Position} cannot be applied: the state diverged from the log. The scheduler stops serving; restart it to rebuild the state from the log, and report the entry (aurora-log dump --from={Position} --to={Position})")]
    public static partial void Diverged(ILogger logger, Exception exception, ulong position);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error,
        Message = "Periodic {Name} failed: {Reason}. Retrying at the next interval ({Interval})")]
    public static partial void HousekeepingFailed(ILogger logger, Exception exception, string name, string reason, TimeSpan interval);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning,
        Message = "Cron job {Job} could not be triggered: {Reason}")]
    public static partial void CronTriggerFailed(ILogger logger, Exception exception, string job, string reason);
}
