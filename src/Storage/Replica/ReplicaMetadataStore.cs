using System.Buffers.Binary;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Google.Protobuf;

namespace Aurora.Storage.Replica;

/// <summary>
/// The replica's status and highest promised term, in <c>DIR/replica.meta</c>, replaced atomically.
/// A missing file means the replica is EMPTY: it was never initialized.
/// </summary>
/// <remarks>
/// File format (version 1): <c>"AURMETA\n"</c>, u32 version, u32 length, u32 CRC32C of the body,
/// then the <see cref="ReplicaMetadata"/> protobuf body. Writes go through <see cref="AtomicFile"/>,
/// so a crash leaves the old or the new metadata, never a mix. Callers serialize their own writes.
/// </remarks>
public sealed class ReplicaMetadataStore(IFileSystem fileSystem, string directory)
{
    public const string FileName = "replica.meta";
    public const uint CurrentVersion = 1;
    private const int HeaderSize = 20;
    private static ReadOnlySpan<byte> Magic => "AURMETA\n"u8;

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    /// <summary>What initializing a replica records: VOTING, no term promised, a fresh random log id.</summary>
    /// <param name="initializedAt">When it is initialized.</param>
    /// <param name="clusterId">The cluster it belongs to (the scheduler's <c>-cluster_name</c>); empty when unknown.</param>
    public static ReplicaMetadata NewVoting(DateTimeOffset initializedAt, string clusterId = "") => new()
    {
        Status = ReplicaStatus.Voting,
        PromisedTerm = 0,
        LogId = NewLogId(),
        InitializedMicros = Snapshots.SnapshotFileFormat.ToMicros(initializedAt),
        ClusterId = clusterId ?? throw new ArgumentNullException(nameof(clusterId)),
    };

    /// <summary>A fresh random log id: 32 lower-case hex digits.</summary>
    public static string NewLogId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// What an operator does about damaged metadata. Without it the replica cannot know which terms
    /// it promised, so it must not vote again as if it did; and initialize refuses to overwrite it.
    /// </summary>
    public const string DamageCure =
        "the replica cannot tell what it promised: stop it, move its log directory aside for analysis, and rebuild the replica "
        + "from its healthy peers, or, if every replica is lost, with 'aurora-log recover' from a backup (docs/disaster-recovery.md)";

    /// <summary>Whether anything (a file, or something that should not be there) has the metadata's name.</summary>
    public bool Exists =>
        fileSystem.DirectoryExists(directory)
        && fileSystem.ListEntries(directory).Any(e => System.IO.Path.GetFileName(e.Path) == FileName);

    /// <summary>The stored metadata, or an EMPTY status when the replica was never initialized (no file).</summary>
    /// <exception cref="InvalidDataException">The file exists but is damaged or of an unknown version; the message says what to do.</exception>
    /// <exception cref="NotARegularFileException">Something other than a regular file has the metadata's name.</exception>
    public ReplicaMetadata Load()
    {
        byte[] bytes;
        try
        {
            bytes = fileSystem.ReadAllBytes(Path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new ReplicaMetadata { Status = ReplicaStatus.Empty };
        }

        if (bytes.Length < HeaderSize || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
        {
            throw Damaged($"not a replica metadata file (it is {bytes.Length} bytes and does not start with the metadata magic)");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        if (version != CurrentVersion)
        {
            throw new InvalidDataException(
                $"{Path}: unknown metadata format version {version} (this build reads version {CurrentVersion}); "
                + $"if a newer Aurora.NET wrote it, run that version; otherwise it is damaged and {DamageCure}");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        var body = bytes.AsSpan(HeaderSize);
        if (length < 0 || length != body.Length || Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)))
        {
            throw Damaged("checksum mismatch");
        }

        try
        {
            return ReplicaMetadata.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Damaged($"the body does not decode ({e.Message})");
        }
    }

    private InvalidDataException Damaged(string problem) => new($"{Path}: {problem}; {DamageCure}");

    public void Save(ReplicaMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var body = metadata.ToByteArray();
        var bytes = new byte[HeaderSize + body.Length];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), CurrentVersion);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), Crc32C.Compute(body));
        body.CopyTo(bytes.AsSpan(HeaderSize));
        fileSystem.CreateDirectoryDurably(directory);
        AtomicFile.Write(fileSystem, Path, bytes);
    }
}
