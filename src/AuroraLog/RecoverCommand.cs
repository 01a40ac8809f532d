using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Backups;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Google.Protobuf;

namespace Aurora.LogTool;

/// <summary>recover refused to write into a log that holds something else; exit code 2.</summary>
internal sealed class RecoverRefusedException(string message) : Exception(message);

/// <summary>
/// <c>aurora-log recover --backup=FILE --path=DIR [--json]</c>: Aurora's offline recovery tool. Writes
/// the state of a backup file into a fresh replica, so that a cluster whose every replica was lost
/// can be rebuilt. See docs/disaster-recovery.md.
/// </summary>
/// <remarks>
/// <para>What it accepts: DIR missing or holding nothing (it is initialized here, as
/// <c>initialize</c> would), or an initialized replica whose log has no entry and that has no
/// snapshot. Anything else is refused before a byte is written, except its own interrupted run on
/// the same backup (below). The backup is checked completely (checksums, blob type, decoding) before
/// DIR is touched.</para>
/// <para>What it writes: one log entry, a <c>RecoveryCommitted</c> event by <see cref="Principal"/>
/// naming the backup (its file name) and its position, executed through <see cref="SchedulerStore"/>
/// like any command, so the scheduler rebuilds exactly that state through its one Apply; then a
/// snapshot of it and the snapshot's <c>SnapshotCommitted</c> marker. The log is not truncated behind
/// that snapshot, so the recovery entry stays for auditors until the scheduler's own snapshots
/// retire it.</para>
/// <para>Crash safety: initialization writes the replica metadata last; the recovery entry is one
/// append, acknowledged only when durable (a torn remainder is cut off when the log is next opened);
/// the snapshot is written atomically. So an interrupted run leaves an empty directory, an
/// initialized empty replica, or a log whose first entry is this recovery (with or without its
/// snapshot). A rerun with the same backup completes each of these; with another backup, or once
/// anything but snapshot markers follows the recovery, it refuses and says why.</para>
/// </remarks>
internal static class RecoverCommand
{
    /// <summary>The principal of the recovery entry; how a rerun recognizes its own earlier work.</summary>
    private const string Principal = Principals.Recover;

    private static readonly FlagSpec BackupFlag = new("backup", "the backup file to restore (a scheduler-backup-*.bak from -backup_dir)", "FILE");

    public static Command Command { get; } = new(
        "recover",
        "Rebuild a replica of a lost cluster from a backup file: checks FILE, initializes DIR if it is missing or empty, "
        + "writes the backup's state as the log's first entry and snapshots it. Refuses a log that holds anything else. Stop the scheduler first.",
        [BackupFlag, LogDirectory.PathFlag, LogDirectory.JsonFlag],
        Run);

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var backupPath = RequireBackupFile(flags, context);
        var directory = LogDirectory.FullPath(flags, "recover");
        if (context.FileSystem.FileExists(directory))
        {
            throw new UsageException($"--path={directory} is a file; it must be the log directory");
        }

        // Everything about the backup is checked before the log directory is touched.
        var (backup, recovered) = ReadBackup(backupPath, directory, context);
        var (initialized, logId) = Prepare(directory, backup, context);

        // A console tool has no synchronization context, so waiting here cannot deadlock. The
        // store, and the backup's decoded state (hashed meanwhile on another core), are garbage
        // once this returns: the check below builds the state once more, and a heap still holding
        // the store's two copies of it and the decoded tree collected slowly (peak 1.6 GB against
        // 1.16 GB at 114,810 tasks).
        var (resumed, wrote) = WriteAsync(directory, backup, recovered, context).GetAwaiter().GetResult();
        var result = Check(directory, logId, initialized, resumed, wrote || initialized, backup, context);
        context.Out.Write(flags.GetSwitch(LogDirectory.JsonFlag.Name) ? Json(result) + "\n" : Text(result));
        return ExitCodes.Ok;
    }

    private static string RequireBackupFile(ParsedFlags flags, ToolContext context)
    {
        var given = flags.RequireString(BackupFlag.Name, $"{Program.Name} recover --backup=FILE --path=DIR");
        var path = LogDirectory.UsablePath("--backup", given);

        var fs = context.FileSystem;
        if (fs.DirectoryExists(path))
        {
            throw new UsageException(
                $"--backup={path} is a directory; give one backup file from it ('{Program.Name} backups --backup_dir={path} --verify' lists them)");
        }

        return fs.FileExists(path) ? path : throw new UsageException($"backup file {path} does not exist; check --backup");
    }

    /// <summary>Reads and checks the whole backup: header and blob checksums, blob type, and that it decodes as a scheduler state.</summary>
    /// <exception cref="InvalidDataException">The backup cannot be used; the message says why and that nothing was written.</exception>
    private static (Backup Backup, SchedulerSnapshot Recovered) ReadBackup(string path, string directory, ToolContext context)
    {
        var backupDirectory = Path.GetDirectoryName(path) ?? path;
        var manager = new BackupManager(new BackupOptions
        {
            BackupDirectory = backupDirectory,
            // Only stamps new backups; nothing is saved here.
            ClusterName = Program.Name,
            FileSystem = context.FileSystem,
            Time = context.Time,
        });
        var unusable = $"nothing was written to {directory}; pick another backup ('{Program.Name} backups --backup_dir={backupDirectory} --verify' lists the sound ones)";

        Snapshot snapshot;
        try
        {
            snapshot = manager.Read(path);
        }
        catch (InvalidDataException e)
        {
            // The storage layer's message already starts with the file's path.
            var problem = e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message;
            throw new InvalidDataException($"cannot recover from {path}: {problem}; {unusable}", e);
        }

        if (snapshot.Info.BlobType != SchedulerState.SnapshotBlobType)
        {
            throw new InvalidDataException(
                $"cannot recover from {path}: it holds '{snapshot.Info.BlobType}', not a scheduler state ('{SchedulerState.SnapshotBlobType}'); {unusable}");
        }

        SchedulerSnapshot decoded;
        SchedulerState state;
        try
        {
            decoded = SchedulerSnapshot.Parser.ParseFrom(snapshot.Blob);
            state = SchedulerState.FromSnapshot(decoded);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Any failure to decode means the same: the checksums hold but the state does not load.
            throw new InvalidDataException($"cannot recover from {path}: its state does not decode ({e.Message}); {unusable}", e);
        }

        // The cluster name is in the header but not in the snapshot read back; a listing has it for backups under their own names.
        var cluster = manager.List().FirstOrDefault(b => b.Path == path)?.ClusterName;
        // Hashed on a second core while the store writes; needed only to compare (the check, a rerun).
        var hash = Task.Run(state.StateHash);
        return (new Backup(path, Path.GetFileName(path), snapshot.Info, string.IsNullOrEmpty(cluster) ? null : cluster, hash), decoded);
    }

    /// <summary>Initializes DIR if it is missing or empty, or refuses a log that holds anything but this recovery; before the store takes its lock.</summary>
    private static (bool Initialized, string LogId) Prepare(string directory, Backup backup, ToolContext context)
    {
        var fs = context.FileSystem;
        var metadataStore = new ReplicaMetadataStore(fs, directory);
        var initialized = false;
        if (!metadataStore.Exists)
        {
            if (fs.DirectoryExists(directory) && InitializeCommand.WhyNotEmpty(directory, context, openLog: null) is { } reason)
            {
                throw Refused(directory, reason);
            }

            InitializeCommand.Initialize(directory, context);
            initialized = true;
        }
        else
        {
            RequireVoting(directory, metadataStore);

            // A first look without the lock, so that a live replica's log is refused with its reason
            // rather than with "locked".
            using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context));
            Classify(directory, log, backup, context);
        }

        return (initialized, metadataStore.Load().LogId);
    }

    /// <summary>Writes the recovery entry and its snapshot through the store, or completes an interrupted run; whether it resumed, and whether it wrote.</summary>
    private static async Task<(bool Resumed, bool Wrote)> WriteAsync(string directory, Backup backup, SchedulerSnapshot recovered, ToolContext context)
    {
        var resumed = false;
        var wrote = false;
        using var store = SchedulerStore.Open(StoreOptions(directory, context));

        // Again under the lock the store holds: nothing can have slipped in since.
        if (Classify(directory, store.Log, backup, context) == Plan.Fresh)
        {
            await store.ExecuteAsync(new CommitRecovery(backup.Id, backup.Info.Position, recovered), Principal).ConfigureAwait(false);
            wrote = true;
        }
        else
        {
            resumed = true;
        }

        // One entry alone means the run that wrote it stopped before its snapshot marker. The
        // state is not hashed here: Check hashes what the snapshot and the log hold, and refuses
        // the replica if it differs from the backup, as it would refuse it here.
        if (!resumed || store.AppliedPosition == 1 || store.Recovery.Snapshot is null)
        {
            await store.TakeSnapshotAsync().ConfigureAwait(false);
            wrote = true;
        }

        return (resumed, wrote);
    }

    /// <summary>
    /// Rebuilds the state from what the replica now holds, as the scheduler will at its start and as
    /// <c>aurora-log state</c> does (the newest snapshot, then the log after it, through the one
    /// Apply), and requires the backup's state hash.
    /// </summary>
    private static Result Check(string directory, string logId, bool initialized, bool resumed, bool wrote, Backup backup, ToolContext context)
    {
        using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context));
        var replayed = StateReplayer.Replay(log, LogDirectory.Snapshots(directory, context), ReplayTarget.Latest, LogDirectory.Decoding);
        var snapshot = replayed.Snapshot
            ?? throw new InvalidOperationException($"the recovered log at {directory} opens without a snapshot; run '{Program.Name} verify --path={directory}'");
        var hash = replayed.State.StateHash();
        RequireBackupState(directory, backup, hash, "when reopened");
        return new Result(
            directory, logId, initialized, resumed, wrote, backup, snapshot, replayed.AppliedPosition, SchedulerState.FormatHash(hash), replayed.State.TaskCount, replayed.State.JobKeys.Count());
    }

    private static void RequireVoting(string directory, ReplicaMetadataStore metadataStore)
    {
        ReplicaMetadata metadata;
        try
        {
            metadata = metadataStore.Load();
        }
        catch (InvalidDataException e)
        {
            throw Refused(directory, $"it holds a damaged {ReplicaMetadataStore.FileName} ({e.Message})");
        }

        if (metadata.Status != ReplicaStatus.Voting)
        {
            throw Refused(directory, $"{ReplicaMetadataStore.FileName} says status {InfoCommand.StatusName(metadata.Status)}");
        }
    }

    /// <summary>
    /// Whether the replica's log is empty (<see cref="Plan.Fresh"/>) or holds exactly an earlier,
    /// interrupted or finished, recovery of this backup (<see cref="Plan.Resume"/>); refuses anything else.
    /// </summary>
    private static Plan Classify(string directory, SegmentedLog log, Backup backup, ToolContext context)
    {
        var snapshotFiles = SnapshotFiles(directory, context);
        var last = log.LastDurablePosition;
        if (last == 0)
        {
            if (log.FirstRetainedPosition > 1)
            {
                throw Refused(directory, $"its log was truncated up to position {log.FirstRetainedPosition - 1}, so a scheduler has run on it");
            }

            return snapshotFiles > 0
                ? throw Refused(directory, $"it holds {snapshotFiles} snapshot file(s) but no log entries")
                : Plan.Fresh;
        }

        var entries = $"its log holds entries (positions {log.FirstRetainedPosition}..{last})";
        if (log.FirstRetainedPosition > 1)
        {
            throw Refused(directory, $"{entries} and was truncated before them, so a scheduler has run on it");
        }

        var first = log.Read(1, 1).Single();
        if (AsRecovery(first) is not { } earlier)
        {
            throw Refused(directory, $"{entries}, and the first is not a recovery written by '{Principal}'");
        }

        if (earlier.BackupId != backup.Id || earlier.BackupPosition != backup.Info.Position
            || !SchedulerState.FromSnapshot(earlier.State.Span).StateHash().AsSpan().SequenceEqual(backup.StateHash))
        {
            throw Refused(
                directory,
                $"it already holds a recovery of backup {earlier.BackupId} (backup position {earlier.BackupPosition}, written {LogDirectory.FormatMicros(first.TimestampMicros)}), "
                + $"not of {backup.Id}; to recover {backup.Id} instead, move {directory} aside and run recover on an empty directory");
        }

        // Read lazily: on a busy replica's log the first later entry already settles it.
        if (log.Read(2, last).FirstOrDefault(e => !IsSnapshotMarker(e)) is { } later)
        {
            throw Refused(
                directory,
                $"it already holds this recovery of {backup.Id} followed by entries written since (position {later.Position} by '{later.Principal}'), "
                + "so a scheduler has run on it and it needs no recovery");
        }

        return Plan.Resume;
    }

    private static RecoveryCommitted? AsRecovery(LogEntry entry)
    {
        if (entry.Principal != Principal)
        {
            return null;
        }

        try
        {
            var transaction = TransactionCodec.Decode(entry);
            return transaction.Events is [{ KindCase: Event.KindOneofCase.RecoveryCommitted } only] ? only.RecoveryCommitted : null;
        }
        catch (Exception e) when (e is UnknownPayloadException or EventApplyException)
        {
            return null;
        }
    }

    private static bool IsSnapshotMarker(LogEntry entry)
    {
        try
        {
            var events = TransactionCodec.Decode(entry).Events;
            return events.Count > 0 && events.All(e => e.KindCase == Event.KindOneofCase.SnapshotCommitted);
        }
        catch (Exception e) when (e is UnknownPayloadException or EventApplyException)
        {
            return false;
        }
    }

    /// <summary>Snapshot files of any state (damaged ones too), leaving out temp files of an interrupted write.</summary>
    private static int SnapshotFiles(string directory, ToolContext context)
    {
        var snapshotDirectory = new SnapshotOptions { Directory = directory }.SnapshotDirectory;
        var fs = context.FileSystem;
        return fs.DirectoryExists(snapshotDirectory)
            ? fs.ListFiles(snapshotDirectory).Count(f => !f.EndsWith(AtomicFile.TempSuffix, StringComparison.Ordinal))
            : 0;
    }

    private static void RequireBackupState(string directory, Backup backup, byte[] hash, string when)
    {
        if (!hash.AsSpan().SequenceEqual(backup.StateHash))
        {
            // The one Apply rebuilt something else from the backup's own bytes: a bug, never to be served.
            throw new InvalidOperationException(
                $"the log at {directory} holds state hash {SchedulerState.FormatHash(hash)} {when}, but the backup's state hash is "
                + $"{SchedulerState.FormatHash(backup.StateHash)}; do not start a scheduler on it, and report this with both files");
        }
    }

    private static SchedulerStoreOptions StoreOptions(string directory, ToolContext context) => new()
    {
        Directory = directory,
        FileSystem = context.FileSystem,
        Time = context.Time,
        LogSegmentSize = context.SegmentSize,
        // The scheduler's default, unless the segments are too small for it (tests use small ones).
        MaxEntrySize = (int)Math.Clamp(context.SegmentSize / 4, 1024, LogOptions.DefaultMaxEntrySize),
        // Keep the recovery entry in the log for auditors; the scheduler's own snapshots retire it later.
        TruncateLogBehindSnapshots = false,
        // Let a failed fdatasync surface as an error line instead of ending the process.
        OnFatalError = _ => { },
    };

    private static RecoverRefusedException Refused(string directory, string reason) => new(
        $"refusing to recover into {directory}: {reason}. Recover needs a directory that is missing or empty, "
        + $"or a replica just initialized with '{Program.Name} initialize'; stop the scheduler first");

    private static string Text(Result r)
    {
        var b = r.Backup;
        var headline = !r.Wrote ? $"{r.Directory} already holds the recovery of backup {b.Id}; nothing was written."
            : r.Resumed ? $"Completed the interrupted recovery of {r.Directory} from backup {b.Id}."
            : $"Recovered {r.Directory} from backup {b.Id}.";
        var lines = new List<string>
        {
            headline,
            $"Backup:         {b.Path} (cluster {b.Cluster ?? "unknown"}, position {b.Info.Position}, term {b.Info.Term}, snapshot taken {LogDirectory.FormatTime(b.Info.CreatedAt)})",
            $"Log directory:  {r.Directory} ({(r.Initialized ? "initialized by recover" : "already initialized")}: status VOTING, log id {r.LogId})",
            $"Recovery entry: position 1 (RecoveryCommitted by '{Principal}'); snapshot at position {r.Snapshot.Position}; appended position {r.LastPosition}",
            $"State hash:     {r.StateHash}",
            $"Tasks:          {r.Tasks} in {r.Jobs} job(s)",
            $"Recover every replica of the cluster from this same file and check that '{Program.Name} state --path=DIR' shows this state hash on each; then start the schedulers.",
        };
        return string.Join('\n', lines) + "\n";
    }

    private static string Json(Result r) => LogDirectory.Json(
        w =>
        {
            var b = r.Backup;
            w.WriteStartObject();
            w.WriteString("directory", r.Directory);
            w.WriteString("logId", r.LogId);
            w.WriteBoolean("initialized", r.Initialized);
            w.WriteBoolean("resumed", r.Resumed);
            w.WriteBoolean("wrote", r.Wrote);
            w.WriteStartObject("backup");
            w.WriteString("file", b.Path);
            w.WriteString("id", b.Id);
            if (b.Cluster is null)
            {
                w.WriteNull("cluster");
            }
            else
            {
                w.WriteString("cluster", b.Cluster);
            }

            w.WriteNumber("position", b.Info.Position);
            w.WriteNumber("term", b.Info.Term);
            w.WriteString("snapshotCreatedAt", LogDirectory.FormatTime(b.Info.CreatedAt));
            w.WriteEndObject();
            w.WriteString("principal", Principal);
            w.WriteNumber("recoveryPosition", 1);
            w.WriteStartObject("snapshot");
            w.WriteString("file", r.Snapshot.Path);
            w.WriteNumber("position", r.Snapshot.Position);
            w.WriteEndObject();
            w.WriteNumber("appendedPosition", r.LastPosition);
            w.WriteString("stateHash", r.StateHash);
            w.WriteNumber("tasks", r.Tasks);
            w.WriteNumber("jobs", r.Jobs);
            w.WriteEndObject();
        },
        indented: true);

    private enum Plan
    {
        /// <summary>Nothing in the log: write the recovery.</summary>
        Fresh,

        /// <summary>The log holds this very recovery already: finish what is missing.</summary>
        Resume,
    }

    /// <summary>A backup that was read and checked completely.</summary>
    /// <param name="Id">The file name, recorded in the recovery entry (as staged recovery records its backup id).</param>
    /// <param name="Hashing">The state hash of the backup's decoded state, being computed.</param>
    private sealed record Backup(string Path, string Id, SnapshotInfo Info, string? Cluster, Task<byte[]> Hashing)
    {
        /// <summary>Waits for the hash (CPU work on the thread pool; this tool has no synchronization context).</summary>
        public byte[] StateHash => Hashing.GetAwaiter().GetResult();
    }

    private sealed record Result(
        string Directory,
        string LogId,
        bool Initialized,
        bool Resumed,
        bool Wrote,
        Backup Backup,
        SnapshotInfo Snapshot,
        ulong LastPosition,
        string StateHash,
        int Tasks,
        int Jobs);
}
