using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Backups;

namespace Aurora.Scheduler.Server;

/// <summary>A backup loaded into the recovery area, with the tasks the operator deleted from it so far.</summary>
internal sealed record StagedRecovery(string BackupId, ulong Position, string ClusterName, SchedulerState State);

/// <summary>
/// Aurora's staged recovery: a backup is loaded beside the live state, inspected and edited (tasks
/// deleted), then committed through the log as one RecoveryCommitted event, so every replica adopts
/// the same state, or unloaded. The area lives in memory: a restart unloads it.
/// </summary>
/// <remarks>Thread-safe: one lock guards the staged state, which only this class touches.</remarks>
internal sealed class RecoveryArea(BackupManager backups)
{
    private readonly Lock _lock = new();
    private StagedRecovery? _staged;

    /// <summary>Loads the backup <paramref name="backupId"/> (its file name in the backup directory), replacing any staged one.</summary>
    /// <exception cref="CommandRejectedException">No such backup, or it cannot be read or decoded.</exception>
    public StagedRecovery Stage(string backupId)
    {
        if (string.IsNullOrWhiteSpace(backupId) || backupId != Path.GetFileName(backupId)
            || !BackupManager.TryParseFileName(backupId, out _, out _))
        {
            throw CommandRejectedException.Invalid($"'{backupId}' is not a backup id; list them with aurora_admin scheduler_list_backups");
        }

        var path = Path.Combine(backups.Directory, backupId);
        if (!File.Exists(path))
        {
            throw new CommandRejectedException(ErrorCode.NotFound, $"No backup {backupId} in {backups.Directory}.");
        }

        Aurora.Storage.Snapshots.Snapshot snapshot;
        try
        {
            // Read checks the header, the length and the blob's checksum.
            snapshot = backups.Read(path);
        }
        catch (InvalidDataException e)
        {
            throw CommandRejectedException.Invalid($"Backup {backupId} cannot be used: {e.Message}");
        }

        if (snapshot.Info.BlobType != SchedulerState.SnapshotBlobType)
        {
            throw CommandRejectedException.Invalid($"Backup {backupId} holds '{snapshot.Info.BlobType}', not a scheduler state.");
        }

        SchedulerState state;
        try
        {
            state = SchedulerState.FromSnapshot(snapshot.Blob);
        }
        catch (Exception e) when (e is InvalidDataException or Google.Protobuf.InvalidProtocolBufferException)
        {
            throw CommandRejectedException.Invalid($"Backup {backupId} cannot be decoded: {e.Message}");
        }

        var cluster = backups.List().FirstOrDefault(b => Path.GetFileName(b.Path) == backupId)?.ClusterName ?? string.Empty;
        var staged = new StagedRecovery(backupId, snapshot.Info.Position, cluster, state);
        lock (_lock)
        {
            _staged = staged;
        }

        return staged;
    }

    /// <summary>Runs <paramref name="read"/> on the staged state under the area's lock.</summary>
    /// <exception cref="CommandRejectedException">Nothing is staged.</exception>
    public T Read<T>(Func<StagedRecovery, T> read)
    {
        lock (_lock)
        {
            return read(_staged ?? throw NothingStaged());
        }
    }

    public bool IsStaged
    {
        get
        {
            lock (_lock)
            {
                return _staged is not null;
            }
        }
    }

    /// <summary>Deletes the staged tasks <paramref name="select"/> picks, through the one apply function; returns how many.</summary>
    public int DeleteTasks(Func<SchedulerState, IEnumerable<string>> select, DateTimeOffset now, string principal)
    {
        lock (_lock)
        {
            var staged = _staged ?? throw NothingStaged();
            var ids = select(staged.State).Distinct(StringComparer.Ordinal).ToList();
            if (ids.Count > 0)
            {
                var pruned = new TasksPruned();
                pruned.TaskIds.AddRange(ids);
                staged.State.Apply(new TransactionInfo(staged.Position, Micros.Of(now), principal), new Event { TasksPruned = pruned });
            }

            return ids.Count;
        }
    }

    /// <summary>The command that makes the staged state the cluster's, or an error when nothing is staged.</summary>
    public CommitRecovery CommitCommand() =>
        Read(staged => new CommitRecovery(staged.BackupId, staged.Position, staged.State.ToSnapshot()));

    /// <summary>Forgets the staged backup if it is still <paramref name="expected"/> (after a commit) or unconditionally.</summary>
    public bool Unload(string? expected = null)
    {
        lock (_lock)
        {
            if (_staged is null || (expected is not null && _staged.BackupId != expected))
            {
                return false;
            }

            _staged = null;
            return true;
        }
    }

    private static CommandRejectedException NothingStaged() =>
        new(ErrorCode.NotFound, "No recovery is staged; stage one with aurora_admin scheduler_stage_recovery CLUSTER BACKUP_ID.");
}
