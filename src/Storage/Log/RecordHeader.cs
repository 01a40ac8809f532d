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
/// The fixed 40-byte header in front of every record in a segment file (format version 1).
/// </summary>
/// <remarks>
/// Layout, little-endian:
/// <code>
///  0 u32 headerCrc    CRC32C of bytes 4..40 (so the length and payload CRC are protected too)
///  4 u8  version      1
///  5 u8  codec        CompressionCodec of the entry's bytes (same in every chunk)
///  6 u16 flags        RecordFlags (GroupStart); other bits 0
///  8 u32 payloadLength
/// 12 u32 payloadCrc   CRC32C of the payload
/// 16 u64 position     the log entry this record belongs to (1-based)
/// 24 u64 term
/// 32 u32 chunkIndex   0-based
/// 36 u32 chunkCount   1 for an unchunked entry
/// </code>
/// An all-zero header marks the end of the written part of a preallocated segment: position 0 is
/// never valid, so a real record can never be all zeros.
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
    public const byte CurrentVersion = 1;

    public RecordFlags Flags { get; init; }

    public long RecordLength => Size + (long)PayloadLength;

    /// <summary>Sets <see cref="RecordFlags.GroupStart"/> on an encoded header in place, re-sealing its checksum.</summary>
    public static void MarkGroupStart(Span<byte> header)
    {
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)(flags | (ushort)RecordFlags.GroupStart));
        BinaryPrimitives.WriteUInt32LittleEndian(header, Crc32C.Compute(header[4..Size]));
    }

    public void Write(Span<byte> destination)
    {
        destination[4] = CurrentVersion;
        destination[5] = (byte)Codec;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)Flags);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], PayloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], PayloadCrc);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], Position);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], Term);
        BinaryPrimitives.WriteInt32LittleEndian(destination[32..], ChunkIndex);
        BinaryPrimitives.WriteInt32LittleEndian(destination[36..], ChunkCount);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Crc32C.Compute(destination[4..Size]));
    }

    /// <summary>Decodes and validates a header; on failure <paramref name="problem"/> says what is wrong.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out RecordHeader header, out string? problem)
    {
        header = default;
        var storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(source);
        if (storedCrc != Crc32C.Compute(source[4..Size]))
        {
            problem = "record header checksum mismatch";
            return false;
        }

        if (source[4] != CurrentVersion)
        {
            problem = $"unknown record format version {source[4]} (this build reads version {CurrentVersion})";
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
