using System.Buffers.Binary;

namespace Aurora.Storage.Log;

/// <summary>How a record's payload bytes are compressed.</summary>
public enum CompressionCodec : byte
{
    None = 0,
    Deflate = 1,
    Brotli = 2,
}

/// <summary>Bits of <see cref="RecordHeader.Flags"/>.</summary>
[Flags]
public enum RecordFlags : ushort
{
    None = 0,

    /// <summary>
    /// The first record of one write group (one pwrite + fdatasync). A valid group start on disk
    /// proves every earlier group was durable before it was written, which is what lets recovery
    /// tell a torn last group from damage to acknowledged records.
    /// </summary>
    GroupStart = 1,
}

/// <summary>
/// The fixed 40-byte header in front of every record in a segment file (record format version 2
/// in segment format version 3; version 1 in segment format versions 1 and 2, still read).
/// </summary>
/// <remarks>
/// Layout, little-endian:
/// <code>
///  0 u32 headerCrc    version 2: CRC32C of the segment's generation (u64) followed by bytes 4..40;
///                     version 1: CRC32C of bytes 4..40 (so the length and payload CRC are protected too)
///  4 u8  version      2 (1)
///  5 u8  codec        CompressionCodec of the entry's bytes (same in every chunk)
///  6 u16 flags        RecordFlags (GroupStart); other bits 0
///  8 u32 payloadLength
/// 12 u32 payloadCrc   CRC32C of the payload
/// 16 u64 position     the log entry this record belongs to (1-based)
/// 24 u64 term
/// 32 u32 chunkIndex   0-based
/// 36 u32 chunkCount   1 for an unchunked entry
/// </code>
/// An all-zero header marks the end of the written part of a segment: position 0 is never valid,
/// so a real record can never be all zeros.
/// <para>The generation salt makes a record valid only in the segment it was written for: a
/// recycled file still holds the records of its earlier use after the new ones, and none of them
/// validates under the new generation. For two generations that differ by less than 2^32 that is
/// certain, not only likely: the checksums of the same 36 bytes under two salts differ by the CRC
/// of the salts' xor followed by zeros, which is zero only when the CRC polynomial (degree 32)
/// divides that xor, a polynomial of degree below 32.</para>
/// </remarks>
public readonly record struct RecordHeader(
    CompressionCodec Codec,
    int PayloadLength,
    uint PayloadCrc,
    ulong Position,
    ulong Term,
    int ChunkIndex,
    int ChunkCount)
{
    public const int Size = 40;
    public const byte CurrentVersion = 2;
    public const byte FirstVersion = 1;

    public RecordFlags Flags { get; init; }

    public long RecordLength => Size + (long)PayloadLength;

    /// <summary>
    /// Seals the encoded records of one write group for the segment they go to: each header gets
    /// the segment's record version and the checksum under its salt, and the first one
    /// <see cref="RecordFlags.GroupStart"/>.
    /// </summary>
    public static void SealGroup(Span<byte> records, SegmentFormat format)
    {
        for (var at = 0; at < records.Length;)
        {
            var header = records.Slice(at, Size);
            header[4] = format.RecordVersion;
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]) & ~(int)RecordFlags.GroupStart;
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)(at == 0 ? flags | (int)RecordFlags.GroupStart : flags));
            BinaryPrimitives.WriteUInt32LittleEndian(header, Checksum(header, format.Salt));
            at += Size + BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        }
    }

    /// <summary>The header checksum of <paramref name="header"/>: over bytes 4..40, after the salt when there is one.</summary>
    public static uint Checksum(ReadOnlySpan<byte> header, ulong? salt)
    {
        if (salt is not { } generation)
        {
            return Crc32C.Compute(header[4..Size]);
        }

        Span<byte> saltBytes = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(saltBytes, generation);
        return ~Crc32C.Append(Crc32C.Append(~0u, saltBytes), header[4..Size]);
    }

    /// <summary>Encodes the header for a segment of <paramref name="format"/>.</summary>
    public void Write(Span<byte> destination, SegmentFormat format)
    {
        destination[4] = format.RecordVersion;
        destination[5] = (byte)Codec;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)Flags);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], PayloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], PayloadCrc);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], Position);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], Term);
        BinaryPrimitives.WriteInt32LittleEndian(destination[32..], ChunkIndex);
        BinaryPrimitives.WriteInt32LittleEndian(destination[36..], ChunkCount);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Checksum(destination, format.Salt));
    }

    /// <summary>
    /// Decodes and validates a header of a segment of <paramref name="format"/>; on failure
    /// <paramref name="problem"/> says what is wrong.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, SegmentFormat format, out RecordHeader header, out string? problem)
    {
        header = default;
        var storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(source);
        if (storedCrc != Checksum(source, format.Salt))
        {
            problem = format.Recycled
                ? "record header checksum mismatch (or a record of this recycled file's earlier use)"
                : "record header checksum mismatch";
            return false;
        }

        if (source[4] != format.RecordVersion)
        {
            problem = $"record format version {source[4]} in a segment of format version {format.Version} (whose records have version {format.RecordVersion})";
            return false;
        }

        var codec = (CompressionCodec)source[5];
        var length = BinaryPrimitives.ReadInt32LittleEndian(source[8..]);
        var chunkIndex = BinaryPrimitives.ReadInt32LittleEndian(source[32..]);
        var chunkCount = BinaryPrimitives.ReadInt32LittleEndian(source[36..]);
        var position = BinaryPrimitives.ReadUInt64LittleEndian(source[16..]);
        var flags = (RecordFlags)BinaryPrimitives.ReadUInt16LittleEndian(source[6..]);
        problem = codec > CompressionCodec.Brotli ? $"unknown compression codec {source[5]}"
            : (flags & ~RecordFlags.GroupStart) != 0 ? $"unknown record flags 0x{(ushort)flags:x4}"
            : length < 0 ? $"negative payload length {length}"
            : position == 0 ? "position 0"
            : chunkCount < 1 || chunkIndex < 0 || chunkIndex >= chunkCount ? $"chunk {chunkIndex} of {chunkCount}"
            : null;
        if (problem is not null)
        {
            return false;
        }

        header = new RecordHeader(
            codec,
            length,
            BinaryPrimitives.ReadUInt32LittleEndian(source[12..]),
            position,
            BinaryPrimitives.ReadUInt64LittleEndian(source[24..]),
            chunkIndex,
            chunkCount)
        {
            Flags = flags,
        };
        return true;
    }
}
