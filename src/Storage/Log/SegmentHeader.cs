using System.Buffers.Binary;

namespace Aurora.Storage.Log;

/// <summary>
/// The 32-byte header at offset 0 of every segment file (segment format version 1).
/// </summary>
/// <remarks>
/// <code>
///  0 u8[8] magic          "AURLOG\r\n" (the CR LF catches text-mode transfers)
///  8 u32   formatVersion  1
/// 12 u32   reserved       0
/// 16 u64   firstPosition  position of the first entry in this segment (also in the file name)
/// 24 u32   reserved       0
/// 28 u32   crc            CRC32C of bytes 0..28
/// </code>
/// </remarks>
internal static class SegmentHeader
{
    public const int Size = 32;
    public const uint CurrentVersion = 1;
    private static ReadOnlySpan<byte> Magic => "AURLOG\r\n"u8;

    public static void Write(Span<byte> destination, ulong firstPosition)
    {
        destination[..Size].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], CurrentVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], firstPosition);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[28..], Crc32C.Compute(destination[..28]));
    }

    /// <summary>What is wrong with the header of a segment named for <paramref name="namedFirst"/>, or null.</summary>
    public static string? Check(IO.IStorageFile file, ulong namedFirst)
    {
        Span<byte> bytes = stackalloc byte[Size];
        var read = IO.StorageFileExtensions.ReadFully(file, 0, bytes);
        if (!TryRead(bytes[..read], out var first, out var problem))
        {
            return problem;
        }

        return first == namedFirst ? null : $"segment header says it starts at position {first}, its name says {namedFirst}";
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out ulong firstPosition, out string? problem)
    {
        firstPosition = 0;
        if (source.Length < Size)
        {
            problem = $"segment header is truncated ({source.Length} of {Size} bytes)";
            return false;
        }

        if (!source[..8].SequenceEqual(Magic))
        {
            problem = "not an Aurora log segment (bad magic)";
            return false;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(source[28..]) != Crc32C.Compute(source[..28]))
        {
            problem = "segment header checksum mismatch";
            return false;
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        if (version != CurrentVersion)
        {
            problem = $"unknown segment format version {version} (this build reads version {CurrentVersion})";
            return false;
        }

        firstPosition = BinaryPrimitives.ReadUInt64LittleEndian(source[16..]);
        problem = firstPosition == 0 ? "segment first position is 0" : null;
        return problem is null;
    }
}
