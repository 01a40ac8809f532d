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

/// <summary>Why scanning a segment stopped before a clean end.</summary>
/// <param name="Offset">Where the problem is.</param>
/// <param name="CutAt">Where a torn tail would be cut (the first record of an incomplete entry, or the damage).</param>
/// <param name="Position">The damaged entry's position, or the one expected there.</param>
/// <param name="LooksTorn">Whether this can be a torn last write group (see <see cref="SegmentScanner"/> remarks).</param>
internal readonly record struct ScanStop(long Offset, long CutAt, ulong? Position, string Problem, bool LooksTorn);

/// <summary>
/// Reads the records of one segment file sequentially through a large buffer. The single place
/// that decides whether bytes are a record, the end of data, or damage; open-time recovery,
/// reads and <c>aurora-log verify</c> all use it.
/// </summary>
/// <remarks>
/// <para>Not thread-safe; one scanner per reader. A returned payload is valid until the next call.</para>
/// <para>Damage "looks torn" when it is what an interrupted, never-acknowledged write leaves behind
/// on a zero-filled, preallocated file: the record runs past the end of the file; or some 512-byte
/// sector is all zeros from the record's first byte in it to the sector's end (a sector the disk
/// never wrote; whatever follows the record in that sector was written with it, so it must be
/// zeros too); or the record's last byte and everything after it are zeros (a short write, such as
/// ENOSPC part-way through). A bit flip in a complete record followed by other records does not,
/// unless that record happens to hold such a run of zeros itself.</para>
/// <para>And damage is never torn when a valid record marked <see cref="RecordFlags.GroupStart"/>
/// follows it: the writer starts a group only after the previous group's fdatasync returned, so
/// the damaged bytes were durable, and possibly acknowledged, before it (see <see cref="Classify"/>).</para>
/// <para>A recycled segment (<see cref="SegmentFormat.Recycled"/>) is not zero-filled: an unwritten
/// sector there holds the bytes of the file's earlier use, whose records never validate under this
/// segment's generation. So in such a segment bytes after the last record are not garbage, and any
/// damage that no valid group start of this generation follows looks torn; the writer ends every
/// group there with an all-zero record header, so that a clean end is still seen as one.</para>
/// </remarks>
internal sealed class SegmentScanner
{
    public const int SectorSize = 512;
    private const int DefaultBufferSize = 1 << 20;

    private readonly IO.IStorageFile _file;
    private readonly SegmentFormat _format;
    private readonly long _limit;
    private byte[] _buffer;
    private long _bufferStart;
    private int _bufferCount;

    /// <param name="file">The segment.</param>
    /// <param name="format">What its header says: which records are valid in it.</param>
    /// <param name="startOffset">Where the first record starts.</param>
    /// <param name="limit">Treat this offset as the end of the file (the durable end of a live segment).</param>
    public SegmentScanner(IO.IStorageFile file, SegmentFormat format, long startOffset, long limit, int bufferSize = DefaultBufferSize)
    {
        _file = file;
        _format = format;
        _limit = limit;
        // No bigger than the range: reading one entry must not cost a 1 MiB allocation.
        _buffer = new byte[(int)Math.Min(bufferSize, Math.Max(4096, limit - startOffset))];
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

        if (!RecordHeader.TryRead(headerBytes, _format, out var header, out var problem))
        {
            return Damage(offset, problem!, LooksTorn(offset, offset + RecordHeader.Size));
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
            return Damage(offset, "record payload checksum mismatch", LooksTorn(offset, offset + header.RecordLength), header);
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
            if (bytes.IndexOfAnyExcept((byte)0) >= 0 && RecordHeader.TryRead(bytes, _format, out _, out _))
            {
                Offset = candidate;
                return;
            }
        }

        Offset = _limit;
    }

    /// <summary>
    /// Decides what a non-record <paramref name="result"/> means: null for a clean end of the
    /// segment, otherwise the problem and whether it can be a torn tail. The one rule that open-time
    /// recovery and <c>aurora-log verify</c> share.
    /// </summary>
    public ScanStop? Classify(in ScanResult result, EntryAssembler? assembler)
    {
        var damaged = result.Outcome == ScanOutcome.Damaged;

        // In a recycled file the bytes after the last record are the earlier use's, not zeros.
        var garbageAt = damaged ? result.Offset : _format.Recycled ? -1 : FindNonZero(result.Offset);
        var incomplete = assembler?.PendingOffset;
        if (!damaged && garbageAt < 0 && incomplete is null)
        {
            return null;
        }

        var offset = damaged || garbageAt >= 0 ? (damaged ? result.Offset : garbageAt) : incomplete!.Value;
        var problem = damaged ? result.Problem!
            : garbageAt >= 0 ? $"non-zero bytes at offset {garbageAt} after the last record"
            : $"entry {assembler!.PendingPosition} has only some of its chunks";
        var position = result.Header.ChunkCount > 0 ? result.Header.Position
            : incomplete is not null ? assembler!.PendingPosition
            : assembler?.ExpectedPosition;
        var looksTorn = (!damaged || result.LooksTorn || _format.Recycled) && !GroupStartFollows(offset + 1);
        return new ScanStop(offset, incomplete ?? result.Offset, position, problem, looksTorn);
    }

    /// <summary>Whether a valid record that starts a write group lies anywhere in [<paramref name="from"/>, limit).</summary>
    public bool GroupStartFollows(long from)
    {
        for (var candidate = from; candidate + RecordHeader.Size <= _limit;)
        {
            var nonZero = FindNonZero(candidate);
            if (nonZero < 0)
            {
                return false;
            }

            // A valid header's version byte (offset 4) is never zero, so none starts more than 4 bytes before.
            candidate = Math.Max(candidate, nonZero - 4);
            if (candidate + RecordHeader.Size > _limit)
            {
                return false;
            }

            if (RecordHeader.TryRead(Fetch(candidate, RecordHeader.Size), _format, out var header, out _)
                && candidate + header.RecordLength <= _limit
                && Crc32C.Compute(Fetch(candidate, checked((int)header.RecordLength))[RecordHeader.Size..]) == header.PayloadCrc)
            {
                if ((header.Flags & RecordFlags.GroupStart) != 0)
                {
                    return true;
                }

                candidate += header.RecordLength;
                continue;
            }

            candidate++;
        }

        return false;
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

    /// <summary>Whether damaged bytes at [<paramref name="offset"/>, <paramref name="end"/>) look like an interrupted write (see remarks).</summary>
    private bool LooksTorn(long offset, long end)
    {
        for (var sector = offset / SectorSize * SectorSize; sector < end; sector += SectorSize)
        {
            var from = Math.Max(sector, offset);
            var to = Math.Min(sector + SectorSize, _limit);
            if (from < to && Fetch(from, (int)(to - from)).IndexOfAnyExcept((byte)0) < 0)
            {
                return true;
            }
        }

        return FindNonZero(end - 1) < 0;
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
