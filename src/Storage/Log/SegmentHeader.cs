using System.Buffers.Binary;

namespace Aurora.Storage.Log;

/// <summary>
/// The header at offset 0 of every segment file: 48 bytes in segment format version 3, 32 bytes in
/// versions 1 and 2 (still read).
/// </summary>
/// <remarks>
/// <code>
///  0 u8[8] magic          "AURLOG\r\n" (the CR LF catches text-mode transfers)
///  8 u32   formatVersion  3 (1: bytes 12..16 and 24..28 are reserved zeros; 1 and 2 end at 32)
/// 12 u32   previousTerm   low 32 bits (versions 2 and 3)
/// 16 u64   firstPosition  position of the first entry in this segment (also in the file name)
/// 24 u32   previousTerm   high 32 bits (versions 2 and 3)
/// 28 u32   crc            CRC32C of bytes 0..28
/// version 3 only:
/// 32 u64   generation     salts every record header's checksum (record format version 2)
/// 40 u32   flags          bit 0: recycled (the file held an earlier segment); other bits 0
/// 44 u32   crc            CRC32C of bytes 32..44
/// </code>
/// <para>previousTerm is the term of the entry at <c>firstPosition - 1</c> (0 for position 0). It
/// lets the log answer <see cref="SegmentedLog.TermAt"/> for the position just before the first
/// one it retains, after prefix truncation or a reset, without the entry itself. Version 2 keeps
/// version 1's size and offsets and uses its two reserved words for the two halves of the u64.
/// A version-1 segment does not say it: it is known to be 0 only when the segment starts at
/// position 1.</para>
/// <para>Version 3 appends 16 bytes with their own checksum, so that the first 32 bytes are checked
/// as before and a build that reads only versions 1 and 2 names the version it does not know.
/// A file recycled from a truncated segment gets its old generation plus one (0 for an old
/// version-1 or -2 header), so no record it held validates under the new one (see
/// <see cref="RecordHeader"/>).</para>
/// </remarks>
internal static class SegmentHeader
{
    /// <summary>The size of a version-3 header, where its records start.</summary>
    public const int Size = 48;

    /// <summary>The size of a version-1 or -2 header.</summary>
    public const int LegacySize = 32;
    public const uint CurrentVersion = 3;
    public const uint PreviousVersion = 2;
    public const uint FirstVersion = 1;
    private const uint RecycledFlag = 1;
    private static ReadOnlySpan<byte> Magic => "AURLOG\r\n"u8;

    public static void Write(Span<byte> destination, ulong firstPosition, ulong previousTerm, ulong generation, bool recycled)
    {
        destination[..Size].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], (uint)previousTerm);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], firstPosition);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], (uint)(previousTerm >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[28..], Crc32C.Compute(destination[..28]));
        BinaryPrimitives.WriteUInt64LittleEndian(destination[32..], generation);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[40..], recycled ? RecycledFlag : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[44..], Crc32C.Compute(destination[32..44]));
    }

    /// <summary>
    /// What is wrong with the header of a segment named for <paramref name="namedFirst"/>, or null;
    /// <paramref name="previousTerm"/> is the term of the entry before it, when the header says.
    /// When the header is damaged, <paramref name="format"/> is a guess for <c>aurora-log verify</c>,
    /// which checks the records anyway: version 3's if its own 16 bytes still check, else version 2's.
    /// </summary>
    public static string? Check(IO.IStorageFile file, ulong namedFirst, out ulong? previousTerm, out SegmentFormat format)
    {
        Span<byte> bytes = stackalloc byte[Size];
        var read = IO.StorageFileExtensions.ReadFully(file, 0, bytes);
        if (!TryRead(bytes[..read], out var first, out previousTerm, out format, out var problem))
        {
            if (read == Size && BinaryPrimitives.ReadUInt32LittleEndian(bytes[44..]) == Crc32C.Compute(bytes[32..44]))
            {
                format = new SegmentFormat(CurrentVersion, BinaryPrimitives.ReadUInt64LittleEndian(bytes[32..]), (BinaryPrimitives.ReadUInt32LittleEndian(bytes[40..]) & RecycledFlag) != 0);
            }

            return problem;
        }

        return first == namedFirst ? null : $"segment header says it starts at position {first}, its name says {namedFirst}";
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out ulong firstPosition, out ulong? previousTerm, out SegmentFormat format, out string? problem)
    {
        firstPosition = 0;
        previousTerm = null;
        format = SegmentFormat.Version2;
        if (source.Length < LegacySize)
        {
            problem = $"segment header is truncated ({source.Length} of {LegacySize} bytes)";
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
        if (version is not (FirstVersion or PreviousVersion or CurrentVersion))
        {
            problem = $"unknown segment format version {version} (this build reads versions {FirstVersion} to {CurrentVersion})";
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
            if (source.Length < Size)
            {
                problem = $"segment header is truncated ({source.Length} of {Size} bytes)";
                return false;
            }

            if (BinaryPrimitives.ReadUInt32LittleEndian(source[44..]) != Crc32C.Compute(source[32..44]))
            {
                problem = "segment header checksum mismatch (bytes 32..48)";
                return false;
            }

            var flags = BinaryPrimitives.ReadUInt32LittleEndian(source[40..]);
            if ((flags & ~RecycledFlag) != 0)
            {
                problem = $"unknown segment header flags 0x{flags:x8}";
                return false;
            }

            format = new SegmentFormat(version, BinaryPrimitives.ReadUInt64LittleEndian(source[32..]), (flags & RecycledFlag) != 0);
        }
        else
        {
            format = new SegmentFormat(version, 0, false);
        }

        if (version != FirstVersion)
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

    /// <summary>
    /// The generation a file about to become a segment gets, from what its first bytes hold: 1 and
    /// not recycled when they are zeros (a zero-filled file); the old header's generation plus one
    /// (0 for versions 1 and 2) when they are a segment header; null when they are neither, and the
    /// file must be zero-filled before it is used.
    /// </summary>
    public static (ulong Generation, bool Recycled)? NextGeneration(ReadOnlySpan<byte> firstBytes)
    {
        if (firstBytes.Length >= Size && firstBytes[..Size].IndexOfAnyExcept((byte)0) < 0)
        {
            return (1, false);
        }

        return TryRead(firstBytes, out _, out _, out var format, out _) ? (format.Generation + 1, true) : null;
    }
}
