using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Microsoft.Extensions.Logging;

namespace Aurora.Storage.Log;

/// <summary>
/// The durable, append-only log on local disk: preallocated segment files of checksummed records,
/// group commit, torn-tail repair on open, prefix truncation, and reads from any retained position.
/// </summary>
/// <remarks>
/// <para>Threading: any number of threads may call <see cref="AppendAsync(LogEntry, CancellationToken)"/>,
/// <see cref="Read"/> and <see cref="TruncatePrefix"/> concurrently. Appends are written by one
/// dedicated writer thread that gathers every queued request into one write and one fdatasync.</para>
/// <para>Durability: an append's task completes only after the fdatasync covering its records has
/// returned. Positions are assigned in the order appends are queued. A failed fdatasync is fatal
/// (<see cref="LogOptions.OnFatalError"/>); any other write error (ENOSPC) fails the affected
/// appends, keeps every acknowledged entry, and the log accepts appends again afterwards.</para>
/// <para>Ownership: the log takes ownership of appended <see cref="LogEntry"/> objects (it fills in
/// position and timestamp); entries returned by reads are fresh objects owned by the caller.</para>
/// </remarks>
public sealed partial class SegmentedLog : IDisposable
{
    /// <summary>The file in the log directory that the replica writing the log holds flock(2)'d.</summary>
    public const string LockFileName = "LOCK";

    private readonly LogOptions _options;
    private readonly IFileSystem _fs;
    private readonly ILogger _logger;
    private readonly EntryCodec _codec;
    private readonly object _lock = new();
    private readonly List<Segment> _segments;
    private readonly IDisposable? _directoryLock;

    // Positions, each with one meaning (all guarded by _lock).
    private ulong _lastAssignedPosition;   // handed to a queued append, maybe not yet written
    private ulong _lastAssignedTerm;
    private ulong _lastDurablePosition;    // fdatasync'd: safe to acknowledge and to read
    private ulong _lastDurableTerm;
    private ulong _firstRetainedPosition;  // nothing below it survives prefix truncation

    private SegmentedLog(LogOptions options, List<Segment> segments, TornTail? tornTail, IDisposable? directoryLock)
    {
        _options = options;
        _fs = options.FileSystem;
        _logger = options.Logger;
        _codec = new EntryCodec(options.Compression, options.CompressionMinBytes, options.MaxEntrySize);
        _segments = segments;
        _directoryLock = directoryLock;
        TornTail = tornTail;
    }

    /// <summary>The torn tail cut off (or, read-only, found) when the log was opened; null if none.</summary>
    public TornTail? TornTail { get; }

    public string Directory => _options.Directory;

    /// <summary>The first position still stored; equals <see cref="LastDurablePosition"/> + 1 when the log is empty.</summary>
    public ulong FirstRetainedPosition
    {
        get
        {
            lock (_lock)
            {
                return _firstRetainedPosition;
            }
        }
    }

    /// <summary>The highest acknowledged (fdatasync'd) position, 0 for an empty log.</summary>
    public ulong LastDurablePosition
    {
        get
        {
            lock (_lock)
            {
                return _lastDurablePosition;
            }
        }
    }

    public ulong LastDurableTerm
    {
        get
        {
            lock (_lock)
            {
                return _lastDurableTerm;
            }
        }
    }

    public IReadOnlyList<SegmentInfo> Segments
    {
        get
        {
            lock (_lock)
            {
                return _segments
                    .Select(s => new SegmentInfo(s.Path, s.FirstPosition, s.LastPosition, s.DataEnd, Math.Max(s.Capacity, s.DataEnd)))
                    .ToList();
            }
        }
    }

    /// <summary>
    /// Opens (creating if needed, unless read-only) the log in <see cref="LogOptions.Directory"/>,
    /// cutting off a torn tail and refusing, with <see cref="LogCorruptedException"/>, any other damage.
    /// </summary>
    public static SegmentedLog Open(LogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var fs = options.FileSystem;
        var segmentDirectory = options.SegmentDirectory;
        IDisposable? directoryLock = null;
        if (!options.ReadOnly)
        {
            fs.CreateDirectoryDurably(segmentDirectory);
            directoryLock = fs.LockDirectory(Path.Combine(options.Directory, LockFileName));
        }

        try
        {
            var segments = new List<Segment>();
            TornTail? torn = null;
            if (fs.DirectoryExists(segmentDirectory))
            {
                if (!options.ReadOnly)
                {
                    AtomicFile.DeleteLeftoverTempFiles(fs, segmentDirectory);
                }

                (segments, torn) = Recover(options, segmentDirectory);
            }

            var log = new SegmentedLog(options, segments, torn, directoryLock);
            log.InitializePositions();
            if (!options.ReadOnly)
            {
                log.StartWriter();
            }

            return log;
        }
        catch
        {
            directoryLock?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Removes whole segments whose entries all precede <paramref name="keepFrom"/> (after a snapshot
    /// at <c>keepFrom - 1</c>). The segment being written is never removed. Returns the new first
    /// retained position.
    /// </summary>
    public ulong TruncatePrefix(ulong keepFrom)
    {
        ThrowIfReadOnly();
        List<Segment> removed;
        lock (_lock)
        {
            var count = 0;
            while (count < _segments.Count - 1 && _segments[count].LastPosition < keepFrom)
            {
                count++;
            }

            removed = _segments.GetRange(0, count);
            _segments.RemoveRange(0, count);
            _firstRetainedPosition = _segments.Count > 0 ? _segments[0].FirstPosition : _lastDurablePosition + 1;
        }

        // Oldest first, so that a crash part-way still leaves a contiguous run of segments.
        foreach (var segment in removed)
        {
            _fs.DeleteFile(segment.Path);
        }

        if (removed.Count > 0)
        {
            SyncDirectoryOrDie(_options.SegmentDirectory);
            LogMessages.PrefixTruncated(_logger, removed.Count, FirstRetainedPosition);
        }

        return FirstRetainedPosition;
    }

    private static (List<Segment> Segments, TornTail? Torn) Recover(LogOptions options, string segmentDirectory)
    {
        var fs = options.FileSystem;
        var files = Segment.ListFiles(fs, segmentDirectory);
        var segments = new List<Segment>(files.Count);
        TornTail? torn = null;
        for (var i = 0; i < files.Count; i++)
        {
            var (first, path) = files[i];

            // Opened first, so that a FIFO or a directory under a segment's name is named as such
            // (NotARegularFileException) rather than as the gap its name may also make.
            using var file = fs.OpenFile(path, options.ReadOnly ? FileOpenMode.ReadExisting : FileOpenMode.ReadWriteExisting);
            if (segments.Count > 0 && segments[^1].LastPosition + 1 != first)
            {
                throw new LogCorruptedException(path, 0, segments[^1].LastPosition + 1,
                    $"gap in the log: the previous segment ends at position {segments[^1].LastPosition}, this one starts at {first}");
            }

            var isLast = i == files.Count - 1;
            var (segment, segmentTorn) = RecoverSegment(options, file, first, isLast);
            segments.Add(segment);
            torn ??= segmentTorn;
        }

        return (segments, torn);
    }

    /// <summary>Scans one segment: checks every record, builds the index, and repairs a torn tail.</summary>
    private static (Segment Segment, TornTail? Torn) RecoverSegment(LogOptions options, IStorageFile file, ulong first, bool isLast)
    {
        var path = file.Path;
        var length = file.Length;
        if (SegmentHeader.Check(file, first) is { } headerProblem)
        {
            throw new LogCorruptedException(path, 0, first, headerProblem);
        }

        var segment = new Segment(path, first, Math.Max(length, options.SegmentSize));
        var scanner = new SegmentScanner(file, SegmentHeader.Size, length);
        var assembler = new EntryAssembler(path, first);
        long? cutAt = null;
        string? cutReason = null;
        while (cutAt is null)
        {
            var result = scanner.Next();
            if (result.Outcome == ScanOutcome.Record)
            {
                if (assembler.Add(result) is { } complete)
                {
                    segment.Indexed(complete.Position, complete.Offset);
                    segment.LastPosition = complete.Position;
                    segment.DataEnd = scanner.Offset;
                }

                continue;
            }

            if (scanner.Classify(result, assembler) is not { } stop)
            {
                break;
            }

            // Damage is only forgivable as a torn tail: in the last segment, looking like an
            // interrupted last write group. Anything else would drop acknowledged entries, so refuse.
            if (!isLast || !stop.LooksTorn)
            {
                throw new LogCorruptedException(path, stop.Offset, stop.Position, stop.Problem);
            }

            cutAt = stop.CutAt;
            cutReason = stop.Problem;
        }

        TornTail? torn = null;
        if (cutAt is { } offset)
        {
            torn = new TornTail(path, offset, length - offset, cutReason!);
            if (!options.ReadOnly)
            {
                // Zero everything after the cut so no stale bytes can ever be read as records.
                file.WriteZeros(offset, Math.Max(length, options.SegmentSize));
                SyncOrDie(options, file);
            }
        }
        else if (!options.ReadOnly && length < options.SegmentSize && isLast)
        {
            file.WriteZeros(length, options.SegmentSize);
            SyncOrDie(options, file);
        }

        return (segment, torn);
    }

    private void InitializePositions()
    {
        if (_segments.Count == 0 && !_options.ReadOnly)
        {
            _segments.Add(CreateFirstSegment(1));
        }

        var last = _segments.LastOrDefault(s => !s.IsEmpty);
        _lastDurablePosition = _segments.Count > 0 ? _segments[^1].LastPosition : 0;
        _lastDurableTerm = last is null ? 0 : ReadTermOf(last);
        _lastAssignedPosition = _lastDurablePosition;
        _lastAssignedTerm = _lastDurableTerm;
        _firstRetainedPosition = _segments.Count > 0 ? _segments[0].FirstPosition : 1;
        if (TornTail is { } torn)
        {
            LogMessages.TornTailTruncated(_logger, torn.File, torn.Offset, torn.DiscardedBytes, torn.Reason);
        }

        LogMessages.Opened(_logger, _options.Directory, _firstRetainedPosition, _lastDurablePosition, _segments.Count);
    }

    private ulong ReadTermOf(Segment segment)
    {
        foreach (var entry in ReadSegment(segment.Path, segment.SeekOffset(segment.LastPosition), segment.DataEnd, segment.LastPosition, segment.LastPosition))
        {
            return entry.Term;
        }

        return 0;
    }

    private void ThrowIfReadOnly()
    {
        if (_options.ReadOnly)
        {
            throw new InvalidOperationException($"the log at {_options.Directory} was opened read-only");
        }
    }

    private void SyncDirectoryOrDie(string directory)
    {
        try
        {
            _fs.SyncDirectory(directory);
        }
        catch (IOException e)
        {
            Fail(e);
            throw;
        }
    }

    private static void SyncOrDie(LogOptions options, IStorageFile file)
    {
        try
        {
            file.DataSync();
        }
        catch (IOException e)
        {
            options.OnFatalError(e);
            throw;
        }
    }
}
