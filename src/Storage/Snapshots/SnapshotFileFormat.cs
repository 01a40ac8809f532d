using System.Buffers.Binary;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Google.Protobuf;

using Microsoft.Extensions.Logging;

namespace Aurora.Storage.Snapshots;

/// <summary>Which of the two files that share <see cref="SnapshotFileFormat"/> a file is meant to be.</summary>
internal sealed class SnapshotFileKind
{
    public static readonly SnapshotFileKind Snapshot = new("snapshot", "AURSNAP\n"u8.ToArray(), 1, SymlinkPolicy.Refuse);

    /// <summary>Backups are the files operators copy around and hand over, so a link to one is followed.</summary>
    public static readonly SnapshotFileKind Backup = new("backup", "AURBKUP\n"u8.ToArray(), 1, SymlinkPolicy.Follow);

    private readonly byte[] _magic;

    private SnapshotFileKind(string name, byte[] magic, uint currentVersion, SymlinkPolicy symlinks)
    {
        Name = name;
        _magic = magic;
        CurrentVersion = currentVersion;
        Symlinks = symlinks;
    }

    public string Name { get; }

    /// <summary>Whether a symbolic link under a file's name is followed when it is read.</summary>
    public SymlinkPolicy Symlinks { get; }

    public ReadOnlySpan<byte> Magic => _magic;

    /// <summary>The only format version this build writes and reads.</summary>
    public uint CurrentVersion { get; }

    public static IEnumerable<SnapshotFileKind> All => [Snapshot, Backup];
}

/// <summary>The file format shared by snapshots and backups: a checksummed header, then the opaque blob.</summary>
/// <remarks>
/// Layout, little-endian (format version 1 of both kinds):
/// <code>
///  0 u8[8] magic          "AURSNAP\n" (snapshot) or "AURBKUP\n" (backup)
///  8 u32   formatVersion  1
/// 12 u32   headerLength   bytes of the SnapshotHeader message that follows
/// 16 u32   headerCrc      CRC32C of bytes 0..16 followed by the header message
/// 20 u8[headerLength]     SnapshotHeader protobuf (position, term, times, blob length/CRC/type, cluster)
///    u8[blob_length]      the blob, CRC32C in SnapshotHeader.blob_crc32c; the file ends right after it
/// </code>
/// The header CRC covers the fixed fields too, so a flipped bit in the length is caught before it is
/// trusted. The version is checked before anything behind it is interpreted: a later version may
/// change everything past byte 12 and still fail here with a clear, typed error.
/// </remarks>
internal static class SnapshotFileFormat
{
    public const int PrefixSize = 20;

    /// <summary>Headers are a few dozen bytes; a length beyond this is damage, not data.</summary>
    public const int MaxHeaderLength = 64 << 10;

    private const int VerifyChunkSize = 1 << 20;

    /// <summary>Field 5 (blob_crc32c), wire type fixed32, value 0.</summary>
    private static readonly byte[] ExplicitZeroCrc = [(SnapshotHeader.BlobCrc32CFieldNumber << 3) | 5, 0, 0, 0, 0];

    /// <summary>
    /// Writes a whole file of <paramref name="kind"/> into <paramref name="file"/>: the blob, which
    /// <paramref name="writeBlob"/> writes to the stream it is given (exactly
    /// <see cref="SnapshotHeader.BlobLength"/> bytes), then the prefix and <paramref name="header"/>,
    /// whose <see cref="SnapshotHeader.BlobCrc32C"/> is set here from what was written. Not synced.
    /// </summary>
    /// <remarks>
    /// The blob goes to the file <see cref="BlobSink.ChunkSize"/> at a time, and each chunk is made
    /// durable before the next is handed to the kernel. A snapshot is tens of megabytes; written whole
    /// and synced once, it fills the disk's queue, and every log append's fdatasync waits behind it
    /// (the snapshot-stall benchmark measured commits of 90 ms and more while snapshot files were
    /// written). In chunks, an append waits for one chunk at most. The header's length does not depend
    /// on the checksum (<see cref="EncodeHeader"/>), so the blob's offset is known before it is written.
    /// </remarks>
    /// <exception cref="InvalidOperationException"><paramref name="writeBlob"/> wrote more or fewer bytes than the header says.</exception>
    public static void Write(IStorageFile file, SnapshotFileKind kind, SnapshotHeader header, Action<Stream> writeBlob)
    {
        // Sized with a checksum that is not zero; EncodeHeader keeps a zero one the same size.
        var sizing = header.Clone();
        sizing.BlobCrc32C = uint.MaxValue;
        var headerLength = EncodeHeader(sizing).Length;
        using (var sink = new BlobSink(file, PrefixSize + headerLength, header.BlobLength))
        {
            writeBlob(sink);
            header.BlobCrc32C = sink.Finish();
        }

        var headerBytes = EncodeHeader(header);
        if (headerBytes.Length != headerLength)
        {
            throw new InvalidOperationException($"the {kind.Name} header is {headerBytes.Length} bytes, not the {headerLength} its blob was placed after");
        }

        var prefix = new byte[PrefixSize + headerBytes.Length];
        kind.Magic.CopyTo(prefix);
        BinaryPrimitives.WriteUInt32LittleEndian(prefix.AsSpan(8), kind.CurrentVersion);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(12), headerBytes.Length);
        headerBytes.CopyTo(prefix.AsSpan(PrefixSize));
        BinaryPrimitives.WriteUInt32LittleEndian(prefix.AsSpan(16), HeaderCrc(prefix.AsSpan(0, 16), headerBytes));
        file.Write(0, prefix);
    }

    /// <summary>
    /// The header's bytes, always with the checksum field: proto3 leaves a zero out, and a blob whose
    /// CRC happens to be zero would otherwise have a header five bytes shorter than the one its offset
    /// was computed from. An explicit zero is a valid encoding of the same header.
    /// </summary>
    private static byte[] EncodeHeader(SnapshotHeader header)
    {
        var bytes = header.ToByteArray();
        if (header.BlobCrc32C != 0)
        {
            return bytes;
        }

        var withZero = new byte[bytes.Length + ExplicitZeroCrc.Length];
        bytes.CopyTo(withZero, 0);
        ExplicitZeroCrc.CopyTo(withZero.AsSpan(bytes.Length));
        return withZero;
    }

    /// <summary>
    /// Reads and checks everything but the blob's content: magic, version, header checksum, that the
    /// file is exactly as long as the header says, and (when the file name carries one) the position.
    /// </summary>
    /// <exception cref="SnapshotFormatException">The file is damaged or of another kind.</exception>
    /// <exception cref="UnknownSnapshotFormatVersionException">The file has a format version this build cannot read.</exception>
    public static DecodedHeader ReadHeader(IStorageFile file, SnapshotFileKind kind, ulong? namedPosition)
    {
        var path = file.Path;
        var length = file.Length;
        Span<byte> prefix = stackalloc byte[PrefixSize];
        var read = file.ReadFully(0, prefix);
        if (read == 0)
        {
            throw new SnapshotFormatException(path, "empty file");
        }

        var magicBytes = Math.Min(read, kind.Magic.Length);
        if (!prefix[..magicBytes].SequenceEqual(kind.Magic[..magicBytes]))
        {
            throw new SnapshotFormatException(path, DescribeBadMagic(kind, prefix[..read]));
        }

        if (read < PrefixSize)
        {
            throw new SnapshotFormatException(path, $"truncated: the file is {read} bytes, shorter than the {PrefixSize}-byte preamble");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
        if (version != kind.CurrentVersion)
        {
            throw new UnknownSnapshotFormatVersionException(path, kind.Name, version, kind.CurrentVersion);
        }

        var headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[12..]);
        if (headerLength > MaxHeaderLength)
        {
            throw new SnapshotFormatException(path, $"header length {headerLength} is implausible (limit {MaxHeaderLength}); the preamble is damaged");
        }

        if (PrefixSize + headerLength > length)
        {
            throw new SnapshotFormatException(path, $"truncated: the file is {length} bytes but its header ends at byte {PrefixSize + headerLength}");
        }

        var headerBytes = new byte[headerLength];
        if (file.ReadFully(PrefixSize, headerBytes) != headerBytes.Length)
        {
            throw new SnapshotFormatException(path, "truncated while reading the header");
        }

        if (HeaderCrc(prefix[..16], headerBytes) != BinaryPrimitives.ReadUInt32LittleEndian(prefix[16..]))
        {
            throw new SnapshotFormatException(path, "header checksum mismatch");
        }

        SnapshotHeader header;
        try
        {
            header = SnapshotHeader.Parser.ParseFrom(headerBytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new SnapshotFormatException(path, $"header does not parse although its checksum matches: {e.Message}");
        }

        var blobOffset = PrefixSize + (long)headerLength;
        if (header.BlobLength > (ulong)(long.MaxValue - blobOffset))
        {
            throw new SnapshotFormatException(path, $"blob length {header.BlobLength} is implausible");
        }

        var expectedLength = blobOffset + (long)header.BlobLength;
        if (length < expectedLength)
        {
            throw new SnapshotFormatException(path, $"truncated: the file is {length} bytes, its header promises {expectedLength}");
        }

        if (length > expectedLength)
        {
            throw new SnapshotFormatException(path, $"{length - expectedLength} unexpected byte(s) after the blob (the header promises {expectedLength})");
        }

        if (!TryFromMicros(header.CreatedMicros, out _) || !TryFromMicros(header.SnapshotCreatedMicros, out _))
        {
            throw new SnapshotFormatException(path, "a timestamp in the header is out of range");
        }

        if (namedPosition is { } named && named != header.Position)
        {
            throw new SnapshotFormatException(path, $"the file name says position {named} but the header says {header.Position}");
        }

        return new DecodedHeader(header, version, blobOffset);
    }

    /// <summary>Reads the blob into memory and checks it against the header.</summary>
    public static byte[] ReadBlob(IStorageFile file, DecodedHeader decoded)
    {
        var length = decoded.Header.BlobLength;
        if (length > (ulong)Array.MaxLength)
        {
            throw new SnapshotFormatException(file.Path, $"blob of {length} bytes is too large to load into memory");
        }

        var blob = new byte[length];
        if (file.ReadFully(decoded.BlobOffset, blob) != blob.Length)
        {
            throw new SnapshotFormatException(file.Path, "truncated while reading the blob");
        }

        CheckBlobCrc(file.Path, decoded.Header.BlobCrc32C, Crc32C.Compute(blob));
        return blob;
    }

    /// <summary>Checks the blob against the header without holding all of it in memory.</summary>
    public static void VerifyBlob(IStorageFile file, DecodedHeader decoded)
    {
        var remaining = (long)decoded.Header.BlobLength;
        var buffer = new byte[(int)Math.Min(VerifyChunkSize, Math.Max(remaining, 1))];
        var offset = decoded.BlobOffset;
        var crc = ~0u;
        while (remaining > 0)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, remaining));
            if (file.ReadFully(offset, chunk) != chunk.Length)
            {
                throw new SnapshotFormatException(file.Path, "truncated while reading the blob");
            }

            crc = Crc32C.Append(crc, chunk);
            offset += chunk.Length;
            remaining -= chunk.Length;
        }

        CheckBlobCrc(file.Path, decoded.Header.BlobCrc32C, ~crc);
    }

    /// <summary>Checks a whole file; returns what is wrong with it, or null when it is sound.</summary>
    public static string? Check(IFileSystem fileSystem, string path, SnapshotFileKind kind, ulong? namedPosition) =>
        Inspect(fileSystem, path, kind, namedPosition, out _);

    /// <summary>
    /// The decoded headers of <paramref name="files"/>, in order. A file whose header is damaged or
    /// unreadable is reported to <paramref name="unusable"/> and left out; one that vanished since it
    /// was listed (retention) is skipped silently.
    /// </summary>
    /// <exception cref="NotARegularFileException">One of the names is not a regular file: not damage, but something put there.</exception>
    public static List<(string Path, DecodedHeader Header)> ReadHeaders(
        IFileSystem fileSystem, IEnumerable<(string Path, ulong Position)> files, SnapshotFileKind kind, Action<string, string> unusable)
    {
        var headers = new List<(string, DecodedHeader)>();
        foreach (var (path, position) in files)
        {
            try
            {
                using var file = fileSystem.OpenFile(path, FileOpenMode.ReadExisting, kind.Symlinks);
                headers.Add((path, ReadHeader(file, kind, position)));
            }
            catch (SnapshotFormatException e)
            {
                unusable(path, e.Problem);
            }
            catch (IOException e) when (e is not NotARegularFileException && fileSystem.FileExists(path))
            {
                unusable(path, $"cannot be read: {e.Message}");
            }
            catch (IOException e) when (e is not NotARegularFileException)
            {
                // Removed by retention after it was listed.
            }
        }

        return headers;
    }

    /// <summary>Checks <paramref name="files"/> completely; returns (path, problem) of the damaged ones, in order.</summary>
    public static List<(string Path, string Problem)> CheckAll(
        IFileSystem fileSystem, IEnumerable<(string Path, ulong Position)> files, SnapshotFileKind kind)
    {
        var problems = new List<(string, string)>();
        foreach (var (path, position) in files)
        {
            if (Inspect(fileSystem, path, kind, position, out var vanished) is { } problem && !vanished)
            {
                problems.Add((path, problem));
            }
        }

        return problems;
    }

    /// <summary>Checks a whole file; <paramref name="vanished"/> when it no longer exists (retention removed it after it was listed).</summary>
    private static string? Inspect(IFileSystem fileSystem, string path, SnapshotFileKind kind, ulong? namedPosition, out bool vanished)
    {
        vanished = false;
        try
        {
            using var file = fileSystem.OpenFile(path, FileOpenMode.ReadExisting, kind.Symlinks);
            VerifyBlob(file, ReadHeader(file, kind, namedPosition));
            return null;
        }
        catch (SnapshotFormatException e)
        {
            return e.Problem;
        }
        catch (NotARegularFileException e)
        {
            return NotARegularFileException.Problem(e.Kind);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            vanished = true;
            return $"cannot be read: {e.Message}";
        }
        catch (IOException e)
        {
            return $"cannot be read: {e.Message}";
        }
    }

    /// <summary>
    /// Writes <paramref name="path"/> in <paramref name="directory"/> with <paramref name="write"/>
    /// atomically (creating the directory durably), first removing temp files that an interrupted
    /// write left there. Callers serialize their writes to one directory.
    /// </summary>
    public static void WriteInto(IFileSystem fileSystem, ILogger logger, string directory, string path, Action<IStorageFile> write)
    {
        fileSystem.CreateDirectoryDurably(directory);
        var removed = AtomicFile.DeleteLeftoverTempFiles(fileSystem, directory);
        if (removed.Count > 0)
        {
            LogMessages.LeftoverTempFilesRemoved(logger, removed.Count, directory);
        }

        AtomicFile.Write(fileSystem, path, write);
    }

    /// <summary>
    /// Deletes all but the first <paramref name="keep"/> of <paramref name="newestFirst"/>, never
    /// <paramref name="justWritten"/> (a clock set back can sort it lower, and it is still the
    /// freshest copy), oldest first so a crash part-way keeps the newest; then fsyncs the directory.
    /// Returns the paths kept.
    /// </summary>
    public static List<string> Prune(IFileSystem fileSystem, string directory, IReadOnlyList<string> newestFirst, int keep, string justWritten)
    {
        var doomed = newestFirst.Skip(keep).Where(p => p != justWritten).Reverse().ToList();
        foreach (var path in doomed)
        {
            fileSystem.DeleteFile(path);
        }

        if (doomed.Count > 0)
        {
            fileSystem.SyncDirectory(directory);
        }

        return [.. newestFirst.Except(doomed)];
    }

    public static long ToMicros(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    public static DateTimeOffset FromMicros(long micros) =>
        TryFromMicros(micros, out var time) ? time : throw new ArgumentOutOfRangeException(nameof(micros), micros, "timestamp out of range");

    public static bool TryFromMicros(long micros, out DateTimeOffset time)
    {
        var maxMicros = (DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;
        var minMicros = (DateTimeOffset.MinValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;
        if (micros < minMicros || micros > maxMicros)
        {
            time = default;
            return false;
        }

        time = DateTimeOffset.UnixEpoch.AddTicks(micros * TimeSpan.TicksPerMicrosecond);
        return true;
    }

    private static uint HeaderCrc(ReadOnlySpan<byte> fixedFields, ReadOnlySpan<byte> header) =>
        ~Crc32C.Append(Crc32C.Append(~0u, fixedFields), header);

    private static void CheckBlobCrc(string path, uint stored, uint computed)
    {
        if (stored != computed)
        {
            throw new SnapshotFormatException(path, $"blob checksum mismatch (header says {stored:x8}, the blob has {computed:x8})");
        }
    }

    private static string DescribeBadMagic(SnapshotFileKind kind, ReadOnlySpan<byte> start)
    {
        foreach (var other in SnapshotFileKind.All)
        {
            if (other != kind && start.Length >= other.Magic.Length && start[..other.Magic.Length].SequenceEqual(other.Magic))
            {
                return $"this is a {other.Name} file, not a {kind.Name} file";
            }
        }

        return $"not a {kind.Name} file (bad magic)";
    }
}

/// <summary>A header that passed every check, and where the blob starts.</summary>
internal readonly record struct DecodedHeader(SnapshotHeader Header, uint Version, long BlobOffset);
