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
    public IEnumerable<LogEntry> Read(ulong from, ulong to = ulong.MaxValue)
    {
        var plan = new List<(string Path, long Offset, long Limit, ulong First, ulong Last)>();
        lock (_lock)
        {
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
                plan.Add((segment.Path, segment.SeekOffset(first), segment.DataEnd, first, Math.Min(to, segment.LastPosition)));
            }
        }

        return ReadPlan(plan);
    }

    private IEnumerable<LogEntry> ReadPlan(List<(string Path, long Offset, long Limit, ulong First, ulong Last)> plan)
    {
        foreach (var (path, offset, limit, first, last) in plan)
        {
            foreach (var entry in ReadSegment(path, offset, limit, first, last))
            {
                yield return entry;
            }
        }
    }

    private IEnumerable<LogEntry> ReadSegment(string path, long offset, long limit, ulong first, ulong last)
    {
        IStorageFile file;
        try
        {
            file = _fs.OpenFile(path, FileOpenMode.ReadExisting);
        }
        catch (FileNotFoundException)
        {
            throw new PositionTruncatedException(first, FirstRetainedPosition);
        }

        using (file)
        {
            var scanner = new SegmentScanner(file, offset, limit);
            EntryAssembler? assembler = null;
            while (true)
            {
                var result = scanner.Next();
                if (result.Outcome == ScanOutcome.End)
                {
                    // The range ends at a durable entry, so zeros before it are lost data, not the end.
                    throw new LogCorruptedException(path, result.Offset, assembler?.ExpectedPosition,
                        $"the segment ends before position {last}, which was acknowledged");
                }

                if (result.Outcome == ScanOutcome.Damaged)
                {
                    throw new LogCorruptedException(path, result.Offset, result.Header.ChunkCount > 0 ? result.Header.Position : null, result.Problem!);
                }

                assembler ??= new EntryAssembler(path, result.Header.Position);
                if (assembler.Add(result) is not { } complete || complete.Position < first)
                {
                    continue;
                }

                var entry = Decode(path, complete);
                yield return entry;
                if (complete.Position >= last)
                {
                    yield break;
                }
            }
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
