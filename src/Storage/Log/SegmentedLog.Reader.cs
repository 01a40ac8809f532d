using Aurora.Storage.IO;
using Aurora.Storage.Protos;

namespace Aurora.Storage.Log;

/// <summary>The read path: streaming entries from any retained position.</summary>
public sealed partial class SegmentedLog
{
    /// <summary>
    /// Streams the durable entries from <paramref name="from"/> to <paramref name="to"/> (inclusive,
    /// clamped to <see cref="LastDurablePosition"/> at the time of the call), reading lazily.
    /// </summary>
    /// <exception cref="PositionTruncatedException"><paramref name="from"/> is below the first retained position.</exception>
    /// <exception cref="LogCorruptedException">A record read back fails its checksum.</exception>
    /// <exception cref="PositionDiscardedException">
    /// A suffix truncation or reset discarded an entry of the range while it was read (entries
    /// returned before it were the log's at the time).
    /// </exception>
    public IEnumerable<LogEntry> Read(ulong from, ulong to = ulong.MaxValue)
    {
        var plan = new List<(string Path, SegmentFormat Format, long Offset, long Limit, ulong First, ulong Last)>();
        ulong epoch;
        lock (_lock)
        {
            epoch = _discardEpoch;
            if (from < _firstRetainedPosition)
            {
                throw new PositionTruncatedException(from, _firstRetainedPosition);
            }

            to = Math.Min(to, _lastDurablePosition);
            if (from > to)
            {
                return [];
            }

            foreach (var segment in _segments)
            {
                if (segment.IsEmpty || segment.LastPosition < from || segment.FirstPosition > to)
                {
                    continue;
                }

                var first = Math.Max(from, segment.FirstPosition);
                plan.Add((segment.Path, segment.Format, segment.SeekOffset(first), segment.DataEnd, first, Math.Min(to, segment.LastPosition)));
            }
        }

        return ReadPlan(plan, epoch);
    }

    private IEnumerable<LogEntry> ReadPlan(List<(string Path, SegmentFormat Format, long Offset, long Limit, ulong First, ulong Last)> plan, ulong epoch)
    {
        foreach (var (path, format, offset, limit, first, last) in plan)
        {
            foreach (var entry in ReadSegment(path, format, offset, limit, first, last, epoch))
            {
                yield return entry;
            }
        }
    }

    /// <summary>
    /// The entries [<paramref name="first"/>, <paramref name="last"/>] of one segment. Each one, and
    /// any failure, is checked against discards since <paramref name="epoch"/> (the plan's): a
    /// segment shrunk or deleted under the read is not corruption, and an entry read from it may
    /// be stale.
    /// </summary>
    private IEnumerable<LogEntry> ReadSegment(string path, SegmentFormat format, long offset, long limit, ulong first, ulong last, ulong epoch)
    {
        IStorageFile file;
        try
        {
            file = _fs.OpenFile(path, FileOpenMode.ReadExisting);
        }
        catch (FileNotFoundException)
        {
            ThrowIfDiscarded(epoch, first);
            throw new PositionTruncatedException(first, FirstRetainedPosition);
        }

        using (file)
        {
            var scanner = new SegmentScanner(file, format, offset, limit);
            EntryAssembler? assembler = null;
            while (true)
            {
                ScanResult result;
                try
                {
                    result = scanner.Next();
                }
                catch (IOException)
                {
                    // "File shrank while being read": a suffix truncation, or a real problem.
                    ThrowIfGone(epoch, assembler?.ExpectedPosition ?? first);
                    throw;
                }

                if (result.Outcome == ScanOutcome.End)
                {
                    // The range ends at a durable entry, so zeros before it are lost data, not the end.
                    ThrowIfGone(epoch, assembler?.ExpectedPosition ?? first);
                    throw new LogCorruptedException(path, result.Offset, assembler?.ExpectedPosition,
                        $"the segment ends before position {last}, which was acknowledged");
                }

                if (result.Outcome == ScanOutcome.Damaged)
                {
                    ThrowIfGone(epoch, assembler?.ExpectedPosition ?? first);
                    throw new LogCorruptedException(path, result.Offset, result.Header.ChunkCount > 0 ? result.Header.Position : null, result.Problem!);
                }

                LogEntry entry;
                try
                {
                    assembler ??= new EntryAssembler(path, result.Header.Position);
                    if (assembler.Add(result) is not { } complete || complete.Position < first)
                    {
                        continue;
                    }

                    entry = Decode(path, complete);
                }
                catch (LogCorruptedException)
                {
                    ThrowIfGone(epoch, assembler?.ExpectedPosition ?? first);
                    throw;
                }

                // Read, then checked: had a discard begun before the read, the epoch shows it now.
                ThrowIfDiscarded(epoch, entry.Position);
                yield return entry;
                if (entry.Position >= last)
                {
                    yield break;
                }
            }
        }
    }

    /// <summary>
    /// Before a read failure is reported as such: throws <see cref="PositionDiscardedException"/> or
    /// <see cref="PositionTruncatedException"/> when <paramref name="position"/> was discarded or
    /// truncated away while it was read. A segment removed by prefix truncation may be recycled
    /// under an open reader: its header and records are rewritten in place, and none of the new
    /// records validates as one of the segment the reader expects.
    /// </summary>
    private void ThrowIfGone(ulong epoch, ulong position)
    {
        ThrowIfDiscarded(epoch, position);
        if (FirstRetainedPosition is var firstRetained && position < firstRetained)
        {
            throw new PositionTruncatedException(position, firstRetained);
        }
    }

    internal static LogEntry Decode(string path, in CompleteEntry complete)
    {
        LogEntry entry;
        try
        {
            entry = EntryCodec.Decode(complete.Codec, complete.Bytes.Span);
        }
        catch (Exception e) when (e is Google.Protobuf.InvalidProtocolBufferException or InvalidDataException)
        {
            throw new LogCorruptedException(path, complete.Offset, complete.Position, $"entry does not decode: {e.Message}");
        }

        if (entry.Position != complete.Position || entry.Term != complete.Term)
        {
            throw new LogCorruptedException(path, complete.Offset, complete.Position,
                $"entry says position {entry.Position} term {entry.Term}, its record says position {complete.Position} term {complete.Term}");
        }

        return entry;
    }
}
