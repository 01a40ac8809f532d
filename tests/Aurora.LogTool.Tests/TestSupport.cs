using System.Buffers.Binary;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.LogTool.Tests;

/// <summary>A clock that always says the same time.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public static readonly DateTimeOffset Default = new(2024, 5, 17, 12, 30, 45, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>What one run of the tool printed and returned.</summary>
internal sealed record ToolResult(int ExitCode, string Out, string Error)
{
    public string[] OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Error}";
}

internal static class Tool
{
    /// <summary>Small segments keep the files tests create (and fsync) small.</summary>
    public const long SegmentSize = 64 << 10;

    /// <summary>Runs aurora-log in-process through its entry point.</summary>
    public static ToolResult Run(params string[] args) => Run(PhysicalFileSystem.Instance, args);

    public static ToolResult Run(IFileSystem fileSystem, params string[] args) => Run(fileSystem, input: null, args);

    /// <summary>Runs aurora-log in-process with a terminal on stdin that answers <paramref name="input"/>.</summary>
    public static ToolResult RunAnswering(string input, params string[] args) => Run(PhysicalFileSystem.Instance, input, args);

    private static ToolResult Run(IFileSystem fileSystem, string? input, string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var stdin = new StringReader(input ?? string.Empty);
        var context = new ToolContext(stdout, stderr, fileSystem, new FixedTime(FixedTime.Default), OpaquePayloadFormatter.Instance)
        {
            SegmentSize = SegmentSize,
            Input = stdin,
            InputIsTerminal = input is not null,
        };
        var exitCode = Program.Run(args, context);
        return new ToolResult(exitCode, stdout.ToString().ReplaceLineEndings("\n"), stderr.ToString().ReplaceLineEndings("\n"));
    }

    /// <summary>The contract for bad input: one line on stderr naming the tool, no stack trace, nothing on stdout.</summary>
    public static void AssertOneLineError(ToolResult result, int exitCode, string expectedFragment)
    {
        Assert.True(result.ExitCode == exitCode, $"expected exit {exitCode}\n{result}");
        Assert.True(result.ErrorLines.Length == 1, $"expected exactly one stderr line\n{result}");
        Assert.StartsWith("aurora-log: ", result.ErrorLines[0], StringComparison.Ordinal);
        Assert.Contains(expectedFragment, result.ErrorLines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Out);
    }
}

/// <summary>Builds logs with known content through the real <see cref="SegmentedLog"/>.</summary>
internal static class TestLog
{
    public const string TypeUrl = "type.googleapis.com/aurora.test.Blob";
    public static readonly long BaseMicros = (FixedTime.Default - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    public static LogOptions Options(string directory, long segmentSize = Tool.SegmentSize) =>
        new() { Directory = directory, SegmentSize = segmentSize, MaxEntrySize = 4096, OnFatalError = _ => { } };

    /// <summary>Entry <c>i</c> (1-based) has term <c>1 + i / 10</c>, time base + i seconds, and seeded random bytes.</summary>
    public static LogEntry Entry(int i, int payloadSize = 200)
    {
        var bytes = new byte[payloadSize];
        new Random(i).NextBytes(bytes);
        return new LogEntry
        {
            Term = 1 + ((ulong)i / 10),
            TimestampMicros = BaseMicros + (i * 1_000_000L),
            Principal = i % 2 == 0 ? "alice" : "aurora scheduler",
            Payload = new Any { TypeUrl = TypeUrl, Value = ByteString.CopyFrom(bytes) },
        };
    }

    public static async Task<List<LogEntry>> AppendAsync(string directory, int count, int payloadSize = 200, long segmentSize = Tool.SegmentSize)
    {
        var entries = Enumerable.Range(1, count).Select(i => Entry(i, payloadSize)).ToList();
        using var log = SegmentedLog.Open(Options(directory, segmentSize));
        // One request per entry: a request never spans segments, so one big batch would fill one segment.
        await Task.WhenAll(entries.Select(e => log.AppendAsync(e)));
        return entries;
    }

    public static string[] SegmentFiles(string directory) =>
        [.. Directory.GetFiles(Path.Combine(directory, "log"), "segment-*.log").Order(StringComparer.Ordinal)];

    /// <summary>Where each record of a segment starts, read with the record format's own layout.</summary>
    /// <summary>The format of a new log's first segment (version 3, generation 1): what its records are checked against.</summary>
    public static SegmentFormat NewSegment => new(3, 1, false);

    public static List<(long Offset, ulong Position, int Length)> Records(string segmentPath)
    {
        var bytes = File.ReadAllBytes(segmentPath);
        var records = new List<(long, ulong, int)>();
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)) >= 3 ? 48 : 32; // segment format 3's header is 48 bytes
        while (offset + 40 <= bytes.Length && bytes.AsSpan(offset, 40).IndexOfAnyExcept((byte)0) >= 0)
        {
            var length = 40 + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset + 8));
            records.Add((offset, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset + 16)), length));
            offset += length;
        }

        return records;
    }

    public static void FlipBit(string path, long offset, int bit = 3)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ (1 << bit)));
    }

    /// <summary>
    /// Leaves what an interrupted append leaves: a valid record header just past the last record,
    /// its payload never written (still zeros).
    /// </summary>
    public static long TearTail(string segmentPath, ulong position, ulong term)
    {
        var last = Records(segmentPath)[^1];
        var offset = last.Offset + last.Length;
        var payload = new byte[2000];
        new Random(7).NextBytes(payload);
        var header = new byte[RecordHeader.Size];
        new RecordHeader(CompressionCodec.None, payload.Length, Aurora.Storage.Crc32C.Compute(payload), position, term, 0, 1).Write(header, NewSegment);
        using var file = File.Open(segmentPath, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        file.Write(header);
        return offset;
    }

    /// <summary>
    /// Every file under the directory with its bytes, to show a command changed nothing. Temp files
    /// are left out: a live log zero-fills its next segment in the background.
    /// </summary>
    /// <param name="withMetadata">False leaves out replica.meta, whose promised term every opening of a store (an election) raises.</param>
    public static Dictionary<string, string> Fingerprint(string directory, bool withMetadata = true) =>
        Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "LOCK" && !f.EndsWith(AtomicFile.TempSuffix, StringComparison.Ordinal))
            .Where(f => withMetadata || Path.GetFileName(f) != ReplicaMetadataStore.FileName)
            .ToDictionary(f => f, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));
}

/// <summary>The real file system, except that listing one directory is denied (as for a directory without read permission).</summary>
internal sealed class UnreadableDirectoryFileSystem(string unreadable) : IFileSystem
{
    private static readonly PhysicalFileSystem Real = PhysicalFileSystem.Instance;

    public bool DirectoryExists(string path) => Real.DirectoryExists(path);

    public bool FileExists(string path) => Real.FileExists(path);

    public void CreateDirectory(string path) => Real.CreateDirectory(path);

    public IReadOnlyList<DirectoryEntry> ListEntries(string directory) =>
        Path.GetFullPath(directory) == Path.GetFullPath(unreadable)
            ? throw new UnauthorizedAccessException($"Access to the path '{directory}' is denied.")
            : Real.ListEntries(directory);

    public IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse) => Real.OpenFile(path, mode, symlinks);

    public void DeleteFile(string path) => Real.DeleteFile(path);

    public void Rename(string source, string destination) => Real.Rename(source, destination);

    public void SyncDirectory(string path) => Real.SyncDirectory(path);

    public IDisposable LockDirectory(string lockFilePath) => Real.LockDirectory(lockFilePath);
}
