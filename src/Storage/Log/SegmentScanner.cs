namespace Aurora.Storage.Log;

/// <summary>What <see cref="SegmentScanner.Next"/> found at the current offset.</summary>
internal enum ScanOutcome
{
    /// <summary>A record whose header and payload checksums hold.</summary>
    Record,

    /// <summary>An all-zero header or the end of the readable range: no more records.</summary>
    End,

    /// <summary>Bytes that are not a valid record. See <see cref="ScanResult.LooksTorn"/>.</summary>
    Damaged,
}

internal readonly record struct ScanResult(
    ScanOutcome Outcome,
    long Offset,
    RecordHeader Header,
    ReadOnlyMemory<byte> Payload,
    string? Problem,
    bool LooksTorn);

/// <summary>
/// Reads the records of one segment file sequentially through a large buffer. The single place
/// that decides whether bytes are a record, the end of data, or damage; open-time recovery,
/// reads and <c>aurora-log verify</c> all use it.
/// </summary>
/// <remarks>
/// Not thread-safe; one scanner per reader. A returned payload is valid until the next call.
/// Damage "looks torn" when it is what an interrupted, never-acknowledged write leaves behind on
/// a zero-filled, preallocated file: the record runs past the end of the file, or part of it
/// within some 512-byte sector is still all zeros. A bit flip in a complete record does not.
/// </remarks>
internal sealed class SegmentScanner
{
    public const int SectorSize = 512;
    private const int DefaultBufferSize = 1 << 20;

    private readonly IO.IStorageFile _file;
    private readonly long _limit;
    private byte[] _buffer;
    private long _bufferStart;
    private int _bufferCount;

    /// <param name="file">The segment.</param>
    /// <param name="startOffset">Where the first record starts.</param>
    /// <param name="limit">Treat this offset as the end of the file (the durable end of a live segment).</param>
    public SegmentScanner(IO.IStorageFile file, long startOffset, long limit, int bufferSize = DefaultBufferSize)
    {
        _file = file;
        _limit = limit;
        _buffer = new byte[bufferSize];
        _bufferStart = startOffset;
        Offset = startOffset;
    }

    /// <summary>The offset of the next record to scan.</summary>
    public long Offset { get; private set; }

    public long Limit => _limit;

    public ScanResult Next()
    {
        var offset = Offset;
        var available = _limit - offset;
        if (available <= 0)
        {
            return new ScanResult(ScanOutcome.End, offset, default, default, null, false);
        }

        if (available < RecordHeader.Size)
        {
            var tail = Fetch(offset, (int)available);
            return tail.IndexOfAnyExcept((byte)0) < 0
                ? new ScanResult(ScanOutcome.End, offset, default, default, null, false)
                : Damage(offset, $"incomplete record header ({available} of {RecordHeader.Size} bytes before end of file)", looksTorn: true);
        }

        var headerBytes = Fetch(offset, RecordHeader.Size);
        if (headerBytes.IndexOfAnyExcept((byte)0) < 0)
        {
            return new ScanResult(ScanOutcome.End, offset, default, default, null, false);
        }

        if (!RecordHeader.TryRead(headerBytes, out var header, out var problem))
        {
            return Damage(offset, problem!, HasZeroSector(offset, headerBytes));
        }

        if (header.RecordLength > available)
        {
            return Damage(
                offset,
                $"record of {header.RecordLength} bytes runs past the end of the file ({available} bytes left)",
                looksTorn: true,
                header);
        }

        var record = Fetch(offset, checked((int)header.RecordLength));
        var payload = record[RecordHeader.Size..];
        if (Crc32C.Compute(payload) != header.PayloadCrc)
        {
            return Damage(offset, "record payload checksum mismatch", HasZeroSector(offset, record), header);
        }

        Offset = offset + header.RecordLength;
        var payloadStart = (int)(offset - _bufferStart) + RecordHeader.Size;
        return new ScanResult(
            ScanOutcome.Record,
            offset,
            header,
            _buffer.AsMemory(payloadStart, header.PayloadLength),
            null,
            false);
    }

    /// <summary>Moves past damage to the next offset where a valid header starts (for verify), or to the limit.</summary>
    public void SkipDamage(ScanResult damaged)
    {
        if (damaged.Header.ChunkCount > 0 && damaged.Offset + damaged.Header.RecordLength <= _limit)
        {
            // The header checksum held, so its length can be trusted even though the payload cannot.
            Offset = damaged.Offset + damaged.Header.RecordLength;
            return;
        }

        for (var candidate = damaged.Offset + 1; candidate + RecordHeader.Size <= _limit; candidate++)
        {
            var bytes = Fetch(candidate, RecordHeader.Size);
            if (bytes.IndexOfAnyExcept((byte)0) >= 0 && RecordHeader.TryRead(bytes, out _, out _))
            {
                Offset = candidate;
                return;
            }
        }

        Offset = _limit;
    }

    /// <summary>The offset of the first non-zero byte in [<paramref name="from"/>, limit), or -1.</summary>
    public long FindNonZero(long from)
    {
        for (var offset = from; offset < _limit;)
        {
            var count = (int)Math.Min(_buffer.Length, _limit - offset);
            var bytes = Fetch(offset, count);
            var index = bytes.IndexOfAnyExcept((byte)0);
            if (index >= 0)
            {
                return offset + index;
            }

            offset += count;
        }

        return -1;
    }

    private ScanResult Damage(long offset, string problem, bool looksTorn, RecordHeader header = default) =>
        new(ScanOutcome.Damaged, offset, header, default, problem, looksTorn);

    private static bool HasZeroSector(long offset, ReadOnlySpan<byte> bytes)
    {
        var position = 0;
        while (position < bytes.Length)
        {
            var sectorEnd = (int)Math.Min(bytes.Length, (((offset + position) / SectorSize) + 1) * SectorSize - offset);
            if (bytes[position..sectorEnd].IndexOfAnyExcept((byte)0) < 0)
            {
                return true;
            }

            position = sectorEnd;
        }

        return false;
    }

    /// <summary>Returns [offset, offset + count) from the buffer, reading and growing it as needed.</summary>
    private ReadOnlySpan<byte> Fetch(long offset, int count)
    {
        if (offset < _bufferStart || offset + count > _bufferStart + _bufferCount)
        {
            if (count > _buffer.Length)
            {
                _buffer = new byte[Math.Max(count, _buffer.Length * 2)];
            }

            _bufferStart = offset;
            var want = (int)Math.Min(_buffer.Length, _limit - offset);
            _bufferCount = IO.StorageFileExtensions.ReadFully(_file, offset, _buffer.AsSpan(0, want));
            if (_bufferCount < count)
            {
                throw new IOException($"{_file.Path}: file shrank while being read (wanted {count} bytes at offset {offset}, got {_bufferCount})");
            }
        }

        return _buffer.AsSpan((int)(offset - _bufferStart), count);
    }
}
