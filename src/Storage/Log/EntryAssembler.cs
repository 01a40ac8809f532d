using System.Buffers;

namespace Aurora.Storage.Log;

/// <summary>An entry whose records (all its chunks) have been read and checked.</summary>
/// <param name="Offset">Where its first record starts in the segment.</param>
/// <param name="Bytes">The (possibly compressed) serialized entry; valid until the next record is scanned.</param>
internal readonly record struct CompleteEntry(ulong Position, ulong Term, long Offset, CompressionCodec Codec, ReadOnlyMemory<byte> Bytes);

/// <summary>
/// Checks the structure of a segment's record sequence (contiguous positions, complete chunk sets,
/// non-decreasing terms) and reassembles chunked entries.
/// </summary>
/// <param name="previousTerm">The term of the entry before <paramref name="firstPosition"/>, when known: no entry may have a lower one.</param>
internal sealed class EntryAssembler(string path, ulong firstPosition, ulong previousTerm = 0)
{
    private readonly ArrayBufferWriter<byte> _chunks = new();
    private RecordHeader _pendingHeader;
    private ulong _lastTerm = previousTerm;

    /// <summary>The position the next entry must have.</summary>
    public ulong ExpectedPosition { get; private set; } = firstPosition;

    /// <summary>Offset of the first chunk of an entry still missing chunks, or null.</summary>
    public long? PendingOffset { get; private set; }

    public ulong PendingPosition => _pendingHeader.Position;

    public CompleteEntry? Add(in ScanResult record)
    {
        var header = record.Header;
        if (PendingOffset is { } pendingOffset)
        {
            if (header.Position != _pendingHeader.Position || header.ChunkIndex != NextChunk
                || header.ChunkCount != _pendingHeader.ChunkCount || header.Codec != _pendingHeader.Codec || header.Term != _pendingHeader.Term)
            {
                throw Corrupt(record.Offset, header.Position,
                    $"expected chunk {NextChunk} of {_pendingHeader.ChunkCount} of position {_pendingHeader.Position}, found chunk {header.ChunkIndex} of {header.ChunkCount} of position {header.Position}");
            }

            _chunks.Write(record.Payload.Span);
            NextChunk++;
            if (NextChunk < header.ChunkCount)
            {
                return null;
            }

            PendingOffset = null;
            return Complete(header, pendingOffset, _chunks.WrittenMemory);
        }

        if (header.Position != ExpectedPosition)
        {
            throw Corrupt(record.Offset, ExpectedPosition, $"expected position {ExpectedPosition}, found {header.Position}");
        }

        if (header.ChunkIndex != 0)
        {
            throw Corrupt(record.Offset, header.Position, $"entry starts with chunk {header.ChunkIndex} of {header.ChunkCount}");
        }

        if (header.Term < _lastTerm)
        {
            throw Corrupt(record.Offset, header.Position, $"term {header.Term} is lower than the previous entry's term {_lastTerm}");
        }

        if (header.ChunkCount == 1)
        {
            return Complete(header, record.Offset, record.Payload);
        }

        _chunks.ResetWrittenCount();
        _chunks.Write(record.Payload.Span);
        _pendingHeader = header;
        NextChunk = 1;
        PendingOffset = record.Offset;
        return null;
    }

    private int NextChunk { get; set; }

    private CompleteEntry Complete(RecordHeader header, long offset, ReadOnlyMemory<byte> bytes)
    {
        ExpectedPosition = header.Position + 1;
        _lastTerm = header.Term;
        return new CompleteEntry(header.Position, header.Term, offset, header.Codec, bytes);
    }

    private LogCorruptedException Corrupt(long offset, ulong position, string problem) => new(path, offset, position, problem);
}
