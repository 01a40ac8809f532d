using System.Globalization;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Aurora.Storage.Snapshots;
using Microsoft.Extensions.Logging;

namespace Aurora.Storage.Backups;

/// <summary>
/// Backups of snapshots in <c>-backup_dir</c>: self-describing copies named
/// <c>scheduler-backup-&lt;UTC yyyy-MM-dd-HH-mm-ss&gt;-&lt;position:D20&gt;.bak</c>, the newest
/// <see cref="BackupOptions.MaxSavedBackups"/> kept. Each reads back as a <see cref="Snapshot"/>.
/// </summary>
/// <remarks>
/// <para>Durability: <see cref="Save"/> returns once the backup file and its directory entry are
/// fsync'd (temp file, fdatasync, rename, fsync of the directory); a crash leaves no partial file
/// under a backup name.</para>
/// <para>Threading: saves are serialized by the manager (the <see cref="BackupScheduler"/>'s timer and
/// an operator's on-demand backup may overlap). Listing, verifying and reading may run on any thread,
/// concurrently with a save. Only one process should save into a backup directory: saves delete temp
/// files they did not create.</para>
/// <para>Order: "newest" is by the time in the file name, then by position, which is also the
/// order of the names.</para>
/// </remarks>
public sealed class BackupManager
{
    public const string FilePrefix = "scheduler-backup-";
    public const string FileSuffix = ".bak";
    public const string TimeFormat = "yyyy-MM-dd-HH-mm-ss";

    private const int PositionDigits = 20;

    private readonly BackupOptions _options;
    private readonly IFileSystem _fs;
    private readonly ILogger _logger;
    private readonly Lock _saveLock = new();

    public BackupManager(BackupOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _fs = options.FileSystem;
        _logger = options.Logger;
    }

    public string Directory => _options.BackupDirectory;

    public BackupOptions Options => _options;

    public static string FileName(DateTimeOffset createdAt, ulong position) =>
        FilePrefix
        + createdAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)
        + "-" + position.ToString("D20", CultureInfo.InvariantCulture)
        + FileSuffix;

    /// <summary>Whether <paramref name="path"/> names a backup file, and the time and position in its name.</summary>
    public static bool TryParseFileName(string path, out DateTimeOffset createdAt, out ulong position)
    {
        var name = Path.GetFileName(path);
        createdAt = default;
        position = 0;
        if (name.Length != FilePrefix.Length + TimeFormat.Length + 1 + PositionDigits + FileSuffix.Length
            || !name.StartsWith(FilePrefix, StringComparison.Ordinal)
            || !name.EndsWith(FileSuffix, StringComparison.Ordinal)
            || name[FilePrefix.Length + TimeFormat.Length] != '-')
        {
            return false;
        }

        var time = name.AsSpan(FilePrefix.Length, TimeFormat.Length);
        var digits = name.AsSpan(FilePrefix.Length + TimeFormat.Length + 1, PositionDigits);
        return DateTimeOffset.TryParseExact(time, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out createdAt)
            && ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out position);
    }

    /// <summary>
    /// Durably writes <paramref name="snapshot"/> as a backup stamped with the current time, then removes
    /// all but the newest <see cref="BackupOptions.MaxSavedBackups"/> backups (never the one just saved).
    /// Creates the backup directory when it is missing.
    /// </summary>
    /// <exception cref="InvalidDataException">The snapshot's blob does not match its checksum; nothing is written.</exception>
    /// <exception cref="IOException">The backup could not be written; existing backups are intact.</exception>
    public BackupInfo Save(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var info = snapshot.Info;
        var blob = snapshot.Blob;
        var crc = Crc32C.Compute(blob);
        if (blob.LongLength != info.BlobLength || crc != info.BlobCrc32C)
        {
            // A backup must be a faithful copy; a blob damaged in memory since it was read is not one.
            throw new InvalidDataException(
                $"snapshot at position {info.Position} ({info.Path}) does not match its header "
                + $"({blob.LongLength} bytes with CRC {crc:x8}, header says {info.BlobLength} bytes with CRC {info.BlobCrc32C:x8}); not backed up");
        }

        var createdMicros = SnapshotFileFormat.ToMicros(_options.Time.GetUtcNow());
        var header = new SnapshotHeader
        {
            Position = info.Position,
            Term = info.Term,
            CreatedMicros = createdMicros,
            BlobLength = (ulong)blob.LongLength,
            BlobCrc32C = crc,
            BlobType = info.BlobType,
            ClusterName = _options.ClusterName,
            SnapshotCreatedMicros = SnapshotFileFormat.ToMicros(info.CreatedAt),
        };
        var path = Path.Combine(Directory, FileName(SnapshotFileFormat.FromMicros(createdMicros), info.Position));
        lock (_saveLock)
        {
            SnapshotFileFormat.WriteInto(_fs, _logger, Directory, path, file => SnapshotFileFormat.Write(file, SnapshotFileKind.Backup, header, sink => sink.Write(blob)));
            LogMessages.BackupSaved(_logger, path, info.Position, info.Term, blob.LongLength);
            ApplyRetention(path);
        }

        return ToInfo(path, header, SnapshotFileKind.Backup.CurrentVersion);
    }

    /// <summary>
    /// Backs up the newest valid snapshot in <paramref name="store"/> now (Aurora's
    /// <c>scheduler_backup_now</c>); null when the store has no valid snapshot.
    /// </summary>
    public BackupInfo? BackupNewestSnapshot(SnapshotStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.LoadNewest().Newest is not { } newest)
        {
            LogMessages.NoSnapshotToBackUp(_logger);
            return null;
        }

        return Save(newest);
    }

    /// <summary>
    /// Every backup whose header checks out (including the file's length), newest first. Blobs are not
    /// read (use <see cref="Verify()"/>); files with a damaged header are logged and left out.
    /// </summary>
    /// <exception cref="NotARegularFileException">Something other than a regular file (or a link to one) has a backup's name.</exception>
    public IReadOnlyList<BackupInfo> List()
    {
        return SnapshotFileFormat.ReadHeaders(_fs, BackupFiles(), SnapshotFileKind.Backup, (path, problem) => LogMessages.BackupUnusable(_logger, path, problem))
            .Select(h => ToInfo(h.Path, h.Header.Header, h.Header.Version))
            .ToList();
    }

    /// <summary>Checks every backup completely (header and blob); returns the damaged ones, newest first.</summary>
    /// <remarks>Problems are returned, not logged: the caller (an operator's tool) decides how to show them.</remarks>
    public IReadOnlyList<BackupProblem> Verify()
    {
        return SnapshotFileFormat.CheckAll(_fs, BackupFiles(), SnapshotFileKind.Backup)
            .Select(p => new BackupProblem(p.Path, p.Problem))
            .ToList();
    }

    /// <summary>Checks one backup file completely, wherever it is; null when it is sound.</summary>
    public BackupProblem? Verify(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var problem = SnapshotFileFormat.Check(_fs, path, SnapshotFileKind.Backup, NamedPosition(path));
        return problem is null ? null : new BackupProblem(path, problem);
    }

    /// <summary>
    /// Reads a backup back as the snapshot it copies (for recovery), checking it completely. The
    /// snapshot's path is the backup's; its creation time is the original snapshot's.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is damaged, not a backup, or of an unknown format version; the message names the file and
    /// the problem, and the <see cref="Exception.InnerException"/> is a <see cref="SnapshotFormatException"/>
    /// (an <see cref="UnknownSnapshotFormatVersionException"/> for an unknown version).
    /// </exception>
    /// <exception cref="IOException">The file cannot be opened or read.</exception>
    public Snapshot Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var file = _fs.OpenFile(path, FileOpenMode.ReadExisting, SnapshotFileKind.Backup.Symlinks);
            var decoded = SnapshotFileFormat.ReadHeader(file, SnapshotFileKind.Backup, NamedPosition(path));
            var blob = SnapshotFileFormat.ReadBlob(file, decoded);
            var header = decoded.Header;
            var createdAt = SnapshotFileFormat.FromMicros(header.SnapshotCreatedMicros != 0 ? header.SnapshotCreatedMicros : header.CreatedMicros);
            var info = new SnapshotInfo(path, header.Position, header.Term, createdAt, (long)header.BlobLength, header.BlobCrc32C, header.BlobType);
            return new Snapshot(info, blob);
        }
        catch (SnapshotFormatException e)
        {
            throw e.ToInvalidData();
        }
    }

    private static ulong? NamedPosition(string path) => TryParseFileName(path, out _, out var position) ? position : null;

    private static BackupInfo ToInfo(string path, SnapshotHeader header, uint version) => new(
        path,
        header.ClusterName,
        header.Position,
        header.Term,
        SnapshotFileFormat.FromMicros(header.CreatedMicros),
        (long)header.BlobLength,
        header.BlobCrc32C,
        header.BlobType,
        version)
    {
        SnapshotCreatedAt = header.SnapshotCreatedMicros != 0 ? SnapshotFileFormat.FromMicros(header.SnapshotCreatedMicros) : null,
    };

    /// <summary>
    /// Backup files, newest first by name (time, then position); other names are ignored. Entries of
    /// every kind are listed, so that one that is not a regular file is refused when opened.
    /// </summary>
    private List<(string Path, ulong Position)> BackupFiles()
    {
        if (!_fs.DirectoryExists(Directory))
        {
            return [];
        }

        var files = new List<(string Path, ulong Position)>();
        foreach (var entry in _fs.ListEntries(Directory))
        {
            if (TryParseFileName(entry.Path, out _, out var position))
            {
                files.Add((entry.Path, position));
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(Path.GetFileName(b.Path), Path.GetFileName(a.Path)));
        return files;
    }

    /// <summary>
    /// Removes all but the newest backups, never the one just saved: its name can sort lower when the
    /// wall clock was set back, and it is still the freshest copy of the state.
    /// </summary>
    private void ApplyRetention(string justSaved)
    {
        var max = _options.MaxSavedBackups;
        try
        {
            var files = BackupFiles();
            var kept = SnapshotFileFormat.Prune(_fs, Directory, files.ConvertAll(f => f.Path), max, justSaved);
            if (kept.Count < files.Count)
            {
                LogMessages.BackupsRemoved(_logger, files.Count - kept.Count, max);
            }
        }
        catch (IOException e)
        {
            // The new backup is durable; failing the save now would make the caller believe otherwise.
            LogMessages.BackupRetentionFailed(_logger, e, Directory, e.Message);
        }
    }
}
