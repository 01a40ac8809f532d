using Aurora.Storage.IO;
using Aurora.Storage.Snapshots;
using Microsoft.Extensions.Logging;

namespace Aurora.Storage.Backups;

/// <summary>
/// Takes a backup of the newest valid snapshot every <see cref="BackupOptions.Interval"/>, on the
/// <see cref="BackupOptions.Time"/> provider's timer, unless a backup of that snapshot already exists.
/// </summary>
/// <remarks>
/// <para>Threading: ticks run as <see cref="PeriodicWork"/> (on the timer's thread, never overlapping).
/// <see cref="Start"/> and <see cref="DisposeAsync"/> may be called from any thread.</para>
/// <para>Failures: a failed backup is logged and counted in <see cref="Failed"/>, never thrown (it would
/// end the process from a timer thread), and is retried at the next interval. Only a backup directory
/// that cannot be created fails <see cref="Start"/>, so a misconfigured <c>-backup_dir</c> shows at start-up.</para>
/// <para>Disposal stops the timer and waits for a backup in progress to finish.</para>
/// </remarks>
public sealed class BackupScheduler : IAsyncDisposable
{
    private readonly BackupManager _manager;
    private readonly SnapshotStore _store;
    private readonly BackupOptions _options;
    private readonly ILogger _logger;
    private readonly PeriodicWork _work;
    private long _taken;
    private long _upToDate;
    private long _failed;

    public BackupScheduler(BackupManager manager, SnapshotStore store, BackupOptions options)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _manager = manager;
        _store = store;
        _options = options;
        _logger = options.Logger;
        _work = new PeriodicWork(options.Time, options.Interval, () =>
        {
            BackUpIfNew();
            return Task.CompletedTask;
        });
    }

    /// <summary>Backups written by this scheduler.</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>Ticks that found nothing new to back up (no snapshot yet, or the newest is already backed up).</summary>
    public long UpToDate => Interlocked.Read(ref _upToDate);

    /// <summary>Ticks whose backup failed (logged; retried at the next interval).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Creates the backup directory if needed and starts the timer; the first backup is one interval away.</summary>
    /// <exception cref="IOException">The backup directory cannot be created.</exception>
    public void Start()
    {
        _manager.Options.FileSystem.CreateDirectoryDurably(_manager.Directory);
        _work.Start();
        LogMessages.BackupSchedulerStarted(_logger, _manager.Directory, _options.Interval, _manager.Options.MaxSavedBackups);
    }

    public ValueTask DisposeAsync() => _work.DisposeAsync();

    private void BackUpIfNew()
    {
        try
        {
            // The cheap check first: headers only. The blob is read only when a backup is due.
            if (_store.List() is not [var newestHeader, ..])
            {
                LogMessages.NoSnapshotToBackUp(_logger);
                Interlocked.Increment(ref _upToDate);
                return;
            }

            var backups = _manager.List();
            if (IsBackedUp(newestHeader, backups))
            {
                LogMessages.BackupUpToDate(_logger, newestHeader.Position);
                Interlocked.Increment(ref _upToDate);
                return;
            }

            // The newest header may front a damaged blob; then the newest valid one is older and may be backed up already.
            if (_store.LoadNewest().Newest is not { } newest)
            {
                LogMessages.NoSnapshotToBackUp(_logger);
                Interlocked.Increment(ref _upToDate);
                return;
            }

            if (IsBackedUp(newest.Info, backups))
            {
                LogMessages.BackupUpToDate(_logger, newest.Info.Position);
                Interlocked.Increment(ref _upToDate);
                return;
            }

            _manager.Save(newest);
            Interlocked.Increment(ref _taken);
        }
        catch (Exception e)
        {
            // Anything escaping a timer callback ends the process; a failed backup must not.
            Interlocked.Increment(ref _failed);
            LogMessages.BackupFailed(_logger, e, _manager.Directory, e.Message, _options.Interval);
        }
    }

    private static bool IsBackedUp(SnapshotInfo snapshot, IReadOnlyList<BackupInfo> backups) =>
        backups.Any(b => b.Position == snapshot.Position
            && b.Term == snapshot.Term
            && b.BlobLength == snapshot.BlobLength
            && b.BlobCrc32C == snapshot.BlobCrc32C
            && b.BlobType == snapshot.BlobType);
}
