using System.Buffers.Binary;

namespace Aurora.Storage.Log;

/// <summary>
/// The 32-byte header at offset 0 of every segment file (segment format version 2; version 1 is
/// still read).
/// </summary>
/// <remarks>
/// <code>
///  0 u8[8] magic          "AURLOG\r\n" (the CR LF catches text-mode transfers)
///  8 u32   formatVersion  2 (1: bytes 12..16 and 24..28 are reserved zeros)
/// 12 u32   previousTerm   low 32 bits (version 2)
/// 16 u64   firstPosition  position of the first entry in this segment (also in the file name)
/// 24 u32   previousTerm   high 32 bits (version 2)
/// 28 u32   crc            CRC32C of bytes 0..28
/// </code>
/// <para>previousTerm is the term of the entry at <c>firstPosition - 1</c> (0 for position 0). It
/// lets the log answer <see cref="SegmentedLog.TermAt"/> for the position just before the first
/// one it retains, after prefix truncation or a reset, without the entry itself. Version 2 keeps
/// version 1's size and offsets and uses its two reserved words for the two halves of the u64.
/// A version-1 segment does not say it: it is known to be 0 only when the segment starts at
/// position 1.</para>
/// </remarks>
internal static class SegmentHeader
{
    public const int Size = 32;
    public const uint CurrentVersion = 2;
    public const uint FirstVersion = 1;
    private static ReadOnlySpan<byte> Magic => "AURLOG\r\n"u8;

    public static void Write(Span<byte> destination, ulong firstPosition, ulong previousTerm)
    {
        destination[..Size].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], (uint)previousTerm);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], firstPosition);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], (uint)(previousTerm >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[28..], Crc32C.Compute(destination[..28]));
    }

    /// <summary>
    /// What is wrong with the header of a segment named for <paramref name="namedFirst"/>, or null;
    /// <paramref name="previousTerm"/> is the term of the entry before it, when the header says.
    /// </summary>
    public static string? Check(IO.IStorageFile file, ulong namedFirst, out ulong? previousTerm)
    {
        Span<byte> bytes = stackalloc byte[Size];
        var read = IO.StorageFileExtensions.ReadFully(file, 0, bytes);
        if (!TryRead(bytes[..read], out var first, out previousTerm, out var problem))
        {
            return problem;
        }

        return first == namedFirst ? null : $"segment header says it starts at position {first}, its name says {namedFirst}";
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out ulong firstPosition, out ulong? previousTerm, out string? problem)
    {
        firstPosition = 0;
        previousTerm = null;
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
        if (version is not (FirstVersion or CurrentVersion))
        {
            problem = $"unknown segment format version {version} (this build reads versions {FirstVersion} and {CurrentVersion})";
            return false;
        }

        firstPosition = BinaryPrimitives.ReadUInt64LittleEndian(source[16..]);
        if (firstPosition == 0)
        {
            problem = "segment first position is 0";
            return false;
        }

        if (version == CurrentVersion)
        {
            previousTerm = BinaryPrimitives.ReadUInt32LittleEndian(source[12..])
                | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(source[24..]) << 32);
            if (firstPosition == 1 && previousTerm != 0)
            {
                problem = $"segment starts at position 1 but says position 0 has term {previousTerm}";
                return false;
            }
        }
        else if (firstPosition == 1)
        {
            previousTerm = 0;
        }

        problem = null;
        return true;
    }
}
