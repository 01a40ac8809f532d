using System.Globalization;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Microsoft.Extensions.Logging;

namespace Aurora.Storage.Snapshots;

/// <summary>
/// The snapshots of one log: opaque, checksummed state blobs at log positions, in
/// <c>DIR/snapshots/snapshot-&lt;position:D20&gt;.snap</c>, the newest <see cref="SnapshotOptions.RetainCount"/> kept.
/// </summary>
/// <remarks>
/// <para>Durability: <see cref="Write"/> returns once the file and its directory entry are fsync'd
/// (temp file, fdatasync, rename, fsync of the directory), so a crash leaves the previous set of
/// snapshots or the new one, never a partial file under a snapshot name. A snapshot at a position
/// that already has one replaces it the same way.</para>
/// <para>Threading: <see cref="Write"/> calls are serialized by the store. Reads
/// (<see cref="LoadNewest"/>, <see cref="List"/>, <see cref="Verify()"/>, <see cref="Read"/>) may run
/// on any thread, concurrently with each other and with a write; a file that retention removes while
/// a read is looking at it is silently passed over. Only one process may write a snapshot directory
/// (the replica holding the log's lock): writes delete temp files they did not create.</para>
/// <para>Ownership: blobs passed to <see cref="Write"/> are copied; blobs returned belong to the caller.</para>
/// </remarks>
public sealed class SnapshotStore
{
    public const string FilePrefix = "snapshot-";
    public const string FileSuffix = ".snap";

    private readonly SnapshotOptions _options;
    private readonly IFileSystem _fs;
    private readonly ILogger _logger;
    private readonly Lock _writeLock = new();

    public SnapshotStore(SnapshotOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _fs = options.FileSystem;
        _logger = options.Logger;
    }

    /// <summary>The directory holding the snapshot files (<see cref="SnapshotOptions.SnapshotDirectory"/>).</summary>
    public string Directory => _options.SnapshotDirectory;

    public static string FileName(ulong position) =>
        FilePrefix + position.ToString("D20", CultureInfo.InvariantCulture) + FileSuffix;

    /// <summary>Whether <paramref name="path"/> names a snapshot file, and at which position.</summary>
    public static bool TryParseFileName(string path, out ulong position)
    {
        var name = Path.GetFileName(path);
        position = 0;
        return name.Length == FilePrefix.Length + 20 + FileSuffix.Length
            && name.StartsWith(FilePrefix, StringComparison.Ordinal)
            && name.EndsWith(FileSuffix, StringComparison.Ordinal)
            && ulong.TryParse(name.AsSpan(FilePrefix.Length, 20), NumberStyles.None, CultureInfo.InvariantCulture, out position);
    }

    public string PathFor(ulong position) => Path.Combine(Directory, FileName(position));

    /// <summary>
    /// Durably writes the state folded in up to and including <paramref name="position"/>, whose log
    /// entry has <paramref name="term"/> (<see cref="Log.SegmentedLog.TermAt"/>), replacing
    /// any snapshot at the same position, then removes all but the newest
    /// <see cref="SnapshotOptions.RetainCount"/> snapshots (by position; the one just written is never removed).
    /// </summary>
    /// <exception cref="IOException">The snapshot could not be written; the previous snapshots are intact.</exception>
    public SnapshotInfo Write(ulong position, ulong term, string blobType, ReadOnlyMemory<byte> blob) =>
        Write(position, term, blobType, (ulong)blob.Length, sink => sink.Write(blob.Span));

    /// <summary>
    /// As <see cref="Write(ulong, ulong, string, ReadOnlyMemory{byte})"/>, with a blob of
    /// <paramref name="blobLength"/> bytes that <paramref name="writeBlob"/> writes to the stream it is
    /// given: how a blob is written that is never whole in memory.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="writeBlob"/> wrote more or fewer than <paramref name="blobLength"/> bytes; nothing was written.</exception>
    public SnapshotInfo Write(ulong position, ulong term, string blobType, ulong blobLength, Action<Stream> writeBlob)
    {
        ArgumentNullException.ThrowIfNull(blobType);
        ArgumentNullException.ThrowIfNull(writeBlob);
        var header = new SnapshotHeader
        {
            Position = position,
            Term = term,
            CreatedMicros = SnapshotFileFormat.ToMicros(_options.Time.GetUtcNow()),
            BlobLength = blobLength,
            BlobType = blobType,
        };
        var path = PathFor(position);
        lock (_writeLock)
        {
            SnapshotFileFormat.WriteInto(_fs, _logger, Directory, path, file => SnapshotFileFormat.Write(file, SnapshotFileKind.Snapshot, header, writeBlob));
            LogMessages.SnapshotWritten(_logger, path, position, term, (long)blobLength);
            ApplyRetention(path);
        }

        return ToInfo(path, header);
    }

    /// <summary>
    /// The newest snapshot whose header and blob check out. Newer files that are damaged are skipped,
    /// logged and returned in <see cref="SnapshotLoadResult.Skipped"/>, newest first.
    /// </summary>
    /// <exception cref="NotARegularFileException">
    /// Something other than a regular file (a FIFO, a directory, a link) has a snapshot's name. It is
    /// not damage to fall back from but something put there: the caller stops and names it.
    /// </exception>
    public SnapshotLoadResult LoadNewest()
    {
        var skipped = new List<SnapshotProblem>();
        foreach (var (path, position) in SnapshotFiles())
        {
            try
            {
                using var file = _fs.OpenFile(path, FileOpenMode.ReadExisting);
                var decoded = SnapshotFileFormat.ReadHeader(file, SnapshotFileKind.Snapshot, position);
                var blob = SnapshotFileFormat.ReadBlob(file, decoded);
                return new SnapshotLoadResult(new Snapshot(ToInfo(path, decoded.Header), blob), skipped);
            }
            catch (SnapshotFormatException e)
            {
                Skip(path, e.Problem);
            }
            catch (IOException e) when (e is not NotARegularFileException && _fs.FileExists(path))
            {
                Skip(path, $"cannot be read: {e.Message}");
            }
            catch (IOException e) when (e is not NotARegularFileException)
            {
                // Removed by retention after we listed it: a newer snapshot exists; not a problem.
            }
        }

        return new SnapshotLoadResult(null, skipped);

        void Skip(string path, string problem)
        {
            skipped.Add(new SnapshotProblem(path, problem));
            LogMessages.SnapshotSkipped(_logger, path, problem);
        }
    }

    /// <summary>
    /// Every snapshot whose header checks out (including that the file has the promised length),
    /// newest first. The blobs are not read; files with a damaged header are logged and left out.
    /// </summary>
    /// <exception cref="NotARegularFileException">Something other than a regular file has a snapshot's name.</exception>
    public IReadOnlyList<SnapshotInfo> List()
    {
        return SnapshotFileFormat.ReadHeaders(_fs, SnapshotFiles(), SnapshotFileKind.Snapshot, (path, problem) => LogMessages.SnapshotSkipped(_logger, path, problem))
            .Select(h => ToInfo(h.Path, h.Header.Header))
            .ToList();
    }

    /// <summary>Checks every snapshot file completely (header and blob); returns the damaged ones, newest first.</summary>
    /// <remarks>Problems are returned, not logged: the caller (an operator's tool) decides how to show them.</remarks>
    public IReadOnlyList<SnapshotProblem> Verify()
    {
        return SnapshotFileFormat.CheckAll(_fs, SnapshotFiles(), SnapshotFileKind.Snapshot)
            .Select(p => new SnapshotProblem(p.Path, p.Problem))
            .ToList();
    }

    /// <summary>Reads and fully checks one snapshot file, which need not be in this store's directory.</summary>
    /// <exception cref="InvalidDataException">
    /// The file is damaged or of an unknown format version; the message names the file and the problem, and
    /// the <see cref="Exception.InnerException"/> is a <see cref="SnapshotFormatException"/>
    /// (an <see cref="UnknownSnapshotFormatVersionException"/> for an unknown version).
    /// </exception>
    /// <exception cref="IOException">The file cannot be opened or read.</exception>
    public Snapshot Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var file = _fs.OpenFile(path, FileOpenMode.ReadExisting);
            var decoded = SnapshotFileFormat.ReadHeader(file, SnapshotFileKind.Snapshot, TryParseFileName(path, out var named) ? named : null);
            return new Snapshot(ToInfo(path, decoded.Header), SnapshotFileFormat.ReadBlob(file, decoded));
        }
        catch (SnapshotFormatException e)
        {
            throw e.ToInvalidData();
        }
    }

    private static SnapshotInfo ToInfo(string path, SnapshotHeader header) => new(
        path,
        header.Position,
        header.Term,
        SnapshotFileFormat.FromMicros(header.CreatedMicros),
        (long)header.BlobLength,
        header.BlobCrc32C,
        header.BlobType);

    /// <summary>
    /// Snapshot files by the position in their names, newest first; other names are ignored. Entries
    /// of every kind are listed, so that one that is not a regular file is refused when opened.
    /// </summary>
    private List<(string Path, ulong Position)> SnapshotFiles()
    {
        if (!_fs.DirectoryExists(Directory))
        {
            return [];
        }

        var files = new List<(string Path, ulong Position)>();
        foreach (var entry in _fs.ListEntries(Directory))
        {
            if (TryParseFileName(entry.Path, out var position))
            {
                files.Add((entry.Path, position));
            }
        }

        files.Sort((a, b) => b.Position.CompareTo(a.Position));
        return files;
    }

    /// <summary>Removes all but the newest snapshots, never the one just written (even if it is at a lower position).</summary>
    private void ApplyRetention(string justWritten)
    {
        try
        {
            var retain = _options.RetainCount;
            var files = SnapshotFiles();
            var kept = SnapshotFileFormat.Prune(_fs, Directory, files.ConvertAll(f => f.Path), retain, justWritten);
            if (kept.Count < files.Count)
            {
                LogMessages.SnapshotsRemoved(_logger, files.Count - kept.Count, retain, files.Where(f => kept.Contains(f.Path)).Min(f => f.Position));
            }
        }
        catch (IOException e)
        {
            // The new snapshot is durable; failing the write now would make the caller believe otherwise.
            LogMessages.SnapshotRetentionFailed(_logger, e, Directory, e.Message);
        }
    }
}
