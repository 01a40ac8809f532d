using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Microsoft.Extensions.Logging;

namespace Aurora.Storage.Log;

/// <summary>
/// The durable, append-only log on local disk: preallocated segment files of checksummed records,
/// group commit, torn-tail repair on open, prefix truncation (whose segments are recycled as next
/// segments), and reads from any retained position.
/// </summary>
/// <remarks>
/// <para>Threading: any number of threads may call <see cref="AppendAsync(LogEntry, CancellationToken)"/>,
/// <see cref="TruncateSuffixAsync"/>, <see cref="ResetAsync"/>, <see cref="Read"/>,
/// <see cref="TermAt"/> and <see cref="TruncatePrefix"/> concurrently. Appends, suffix truncations
/// and resets are queued and run by one dedicated writer thread in the order they were called; it
/// gathers the appends queued together into one write and one fdatasync.</para>
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

    // Segments removed by prefix truncation, renamed to spare-*.log.tmp, to be recycled as next
    // segments instead of zero-filling new ones (guarded by _lock).
    private readonly List<string> _spares = [];

    // Positions, each with one meaning (all guarded by _lock).
    private ulong _lastAssignedPosition;   // handed to a queued append, maybe not yet written
    private ulong _lastAssignedTerm;
    private ulong _lastDurablePosition;    // fdatasync'd: safe to acknowledge and to read
    private ulong _lastDurableTerm;
    private ulong _firstRetainedPosition;  // nothing below it survives prefix truncation

    // Terms by position (guarded by _lock): of the durable entries (and of FirstRetained - 1 when
    // known), and of the log as the queue will leave it (every queued append and truncation applied).
    private readonly TermIndex _durableTerms;
    private TermIndex _assignedTerms;

    private SegmentedLog(LogOptions options, List<Segment> segments, TermIndex terms, TornTail? tornTail, IDisposable? directoryLock)
    {
        _options = options;
        _fs = options.FileSystem;
        _logger = options.Logger;
        _codec = new EntryCodec(options.Compression, options.CompressionMinBytes, options.MaxEntrySize);
        _segments = segments;
        _durableTerms = terms;
        _assignedTerms = terms.Clone();
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

    /// <summary>
    /// The term of the entry at <see cref="LastDurablePosition"/>: after a reset, the term it was
    /// given; 0 for an empty log, and for a log whose every entry was truncated away when the term of
    /// the one before is unknown (<see cref="TermAt"/>).
    /// </summary>
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

    /// <summary>
    /// The highest position handed out: to a queued append (maybe not written yet), or the position a
    /// queued <see cref="TruncateSuffixAsync"/> or <see cref="ResetAsync"/> leaves the log at. Not
    /// durable: a failed write hands positions out again from <see cref="LastDurablePosition"/>.
    /// The next append without a position of its own gets this plus one.
    /// </summary>
    public ulong LastAssignedPosition
    {
        get
        {
            lock (_lock)
            {
                return _lastAssignedPosition;
            }
        }
    }

    /// <summary>The term of the entry at <see cref="LastAssignedPosition"/>; appends must not go below it.</summary>
    public ulong LastAssignedTerm
    {
        get
        {
            lock (_lock)
            {
                return _lastAssignedTerm;
            }
        }
    }

    /// <summary>
    /// The term of the durable entry at <paramref name="position"/>, from an index of term runs kept
    /// in memory (no payload is read): O(log of the number of term changes).
    /// </summary>
    /// <remarks>
    /// Answers for every position from <see cref="FirstRetainedPosition"/> to
    /// <see cref="LastDurablePosition"/>, for position 0 (term 0), and for
    /// <see cref="FirstRetainedPosition"/> - 1 when the log knows it: after a reset, and after prefix
    /// truncation (the first retained segment's header carries it; a segment written before format
    /// version 2 does not, so a log reopened on one knows it only if it starts at position 1).
    /// Positions that are only assigned (queued appends) are not answered: the replication layer asks
    /// about durable positions only. Safe from any thread.
    /// </remarks>
    /// <exception cref="PositionTruncatedException">The position is below what the log retains or knows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The position is beyond <see cref="LastDurablePosition"/>.</exception>
    public ulong TermAt(ulong position)
    {
        lock (_lock)
        {
            if (position > _lastDurablePosition)
            {
                throw new ArgumentOutOfRangeException(nameof(position), position,
                    $"position {position} is beyond the last durable position {_lastDurablePosition} of the log at {_options.Directory}");
            }

            if (_durableTerms.TryGet(position, out var term))
            {
                return term;
            }

            return position == 0 ? 0UL : throw new PositionTruncatedException(position, _firstRetainedPosition);
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
            var terms = new TermIndex(1);
            terms.Reset(0, 0);
            TornTail? torn = null;
            if (fs.DirectoryExists(segmentDirectory))
            {
                if (!options.ReadOnly)
                {
                    AtomicFile.DeleteLeftoverTempFiles(fs, segmentDirectory);
                }

                var files = Segment.ListFiles(fs, segmentDirectory);
                if (FindInterruptedReset(fs, segmentDirectory) is { } reset)
                {
                    // Past its commit point: the reset file is the whole log (see ResetAsync).
                    if (options.ReadOnly)
                    {
                        files = [reset];
                    }
                    else
                    {
                        FinishReset(fs, segmentDirectory, reset.Path, reset.First);
                        LogMessages.InterruptedResetFinished(options.Logger, reset.Path, files.Count);
                        files = Segment.ListFiles(fs, segmentDirectory);
                    }
                }

                (segments, terms, torn) = Recover(options, files);
            }

            var log = new SegmentedLog(options, segments, terms, torn, directoryLock);
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
        lock (_maintenance)
        {
            return TruncatePrefixNow(keepFrom);
        }
    }

    private ulong TruncatePrefixNow(ulong keepFrom)
    {
        List<Segment> removed;
        int spareRoom;
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
            spareRoom = MaxSpareSegments - _spares.Count; // only this method (under _maintenance) adds spares

            // The term of FirstRetained - 1 stays known: the first retained segment's header says it too.
            // (_assignedTerms is left whole: with a reset queued it may describe other positions;
            // it is a run per term change, and is replaced by a copy of this one after a failure.)
            _durableTerms.TruncateBefore(_firstRetainedPosition - 1);
        }

        // Oldest first, so that a crash part-way still leaves a contiguous run of segments. Up to
        // MaxSpareSegments are renamed instead of deleted, to be recycled as next segments: to the
        // log a rename away is a deletion, and a spare is a temp file, deleted on open.
        var spares = new List<string>();
        try
        {
            foreach (var segment in removed)
            {
                if (spares.Count < spareRoom)
                {
                    var spare = Path.Combine(_options.SegmentDirectory, Segment.SpareFileName(segment.FirstPosition));
                    _fs.Rename(segment.Path, spare);
                    spares.Add(spare);
                }
                else
                {
                    _fs.DeleteFile(segment.Path);
                }
            }

            if (removed.Count > 0)
            {
                SyncDirectoryOrDie(_options.SegmentDirectory);
                LogMessages.PrefixTruncated(_logger, removed.Count, FirstRetainedPosition);
            }
        }
        finally
        {
            lock (_lock)
            {
                _spares.AddRange(spares);
            }
        }

        return FirstRetainedPosition;
    }

    private static (List<Segment> Segments, TermIndex Terms, TornTail? Torn) Recover(LogOptions options, List<(ulong First, string Path)> files)
    {
        var fs = options.FileSystem;
        var segments = new List<Segment>(files.Count);
        var terms = new TermIndex(1);
        terms.Reset(0, 0);
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
            var (segment, segmentTorn) = RecoverSegment(options, file, first, isLast, terms, isFirst: i == 0);
            segments.Add(segment);
            torn ??= segmentTorn;
        }

        return (segments, terms, torn);
    }

    /// <summary>
    /// Scans one segment: checks every record, builds the position index, extends the term index
    /// (which the first segment starts from its header), and repairs a torn tail.
    /// </summary>
    private static (Segment Segment, TornTail? Torn) RecoverSegment(LogOptions options, IStorageFile file, ulong first, bool isLast, TermIndex terms, bool isFirst)
    {
        var path = file.Path;
        var length = file.Length;
        if (SegmentHeader.Check(file, first, out var previousTerm, out var format) is { } headerProblem)
        {
            throw new LogCorruptedException(path, 0, first, headerProblem);
        }

        if (isFirst)
        {
            terms.Reset(first - 1, previousTerm);
        }
        else if (previousTerm is { } said && terms.TryGet(first - 1, out var actual) && said != actual)
        {
            throw new LogCorruptedException(path, 0, first,
                $"segment header says the entry before it (position {first - 1}) has term {said}, the previous segment ends with term {actual}");
        }

        var segment = new Segment(path, first, Math.Max(length, options.SegmentSize), previousTerm, format);
        var scanner = new SegmentScanner(file, format, format.DataStart, length);
        var assembler = new EntryAssembler(path, first, terms.IsEmpty ? previousTerm ?? 0 : terms.LastTerm);
        long? cutAt = null;
        string? cutReason = null;
        while (cutAt is null)
        {
            var result = scanner.Next();
            if (result.Outcome == ScanOutcome.Record)
            {
                if (assembler.Add(result) is { } complete)
                {
                    terms.Append(complete.Position, complete.Term);
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
        else if (!options.ReadOnly && isLast && format.Recycled)
        {
            // After a crash, a group that was written in part can lie past the end found here (its
            // first sector never made it, so the scan met the previous group's end marker). Its
            // records have this generation: were the next group to tear over it, they could read
            // as entries. Zeroed now, as a torn tail's bytes are; without a crash, the file's
            // earlier use is zeroed too, once per open.
            file.WriteZeros(segment.DataEnd, Math.Max(length, options.SegmentSize));
            SyncOrDie(options, file);
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
            _segments.Add(CreateFirstSegment());
        }

        _lastDurablePosition = _segments.Count > 0 ? _segments[^1].LastPosition : 0;
        _lastDurableTerm = _durableTerms.LastTerm;
        _lastAssignedPosition = _lastDurablePosition;
        _lastAssignedTerm = _lastDurableTerm;
        _firstRetainedPosition = _segments.Count > 0 ? _segments[0].FirstPosition : 1;
        if (TornTail is { } torn)
        {
            LogMessages.TornTailTruncated(_logger, torn.File, torn.Offset, torn.DiscardedBytes, torn.Reason);
        }

        LogMessages.Opened(_logger, _options.Directory, _firstRetainedPosition, _lastDurablePosition, _segments.Count);
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
