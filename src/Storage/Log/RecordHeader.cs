using System.Buffers.Binary;

namespace Aurora.Storage.Log;

/// <summary>How a record's payload bytes are compressed.</summary>
public enum CompressionCodec : byte
{
    None = 0,
    Deflate = 1,
    Brotli = 2,
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
///  6 u16 reserved     0
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

    public long RecordLength => Size + (long)PayloadLength;

    public void Write(Span<byte> destination)
    {
        destination[4] = CurrentVersion;
        destination[5] = (byte)Codec;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], 0);
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
        problem = codec > CompressionCodec.Brotli ? $"unknown compression codec {source[5]}"
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
            chunkCount);
        return true;
    }
}
