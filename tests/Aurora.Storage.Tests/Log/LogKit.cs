using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.Tests.Log;

public enum PayloadKind
{
    /// <summary>Random bytes: incompressible.</summary>
    Random,

    /// <summary>Repeated words: compressible.</summary>
    Text,

    /// <summary>All zeros: the most compressible, and what unwritten sectors look like.</summary>
    Zeros,
}

/// <summary>One record as the test reads it from a segment file, independently of the log's code.</summary>
public sealed record RecordLayout(string File, long Offset, long Length, ulong Position, int ChunkIndex, int ChunkCount)
{
    public long End => Offset + Length;
}

/// <summary>Collects <see cref="LogOptions.OnFatalError"/> calls instead of ending the process.</summary>
public sealed class FatalErrors
{
    private readonly ConcurrentQueue<Exception> _errors = new();

    public IReadOnlyList<Exception> Errors => [.. _errors];

    public void Record(Exception e) => _errors.Enqueue(e);
}

/// <summary>Entry builders, options and checks shared by the log tests.</summary>
public static class LogKit
{
    public const string SimDirectory = "/sim/aurora";

    private static readonly string[] Words = ["job", "task", "RUNNING", "role/env/name", "host-17", "0.5 cpu", "ASSIGNED", "\n"];

    public static string[] Principals { get; } = ["", "scheduler", "alice@example.com", "operator:ünïcode", new string('p', 300)];

    public static LogOptions SimOptions(SimulatedFileSystem fs, long segmentSize = 16 << 10, int maxEntrySize = 1024,
        CompressionCodec compression = CompressionCodec.None, FatalErrors? fatal = null) => new()
        {
            Directory = SimDirectory,
            FileSystem = fs,
            SegmentSize = segmentSize,
            MaxEntrySize = maxEntrySize,
            Compression = compression,
            CompressionMinBytes = 64,
            OnFatalError = (fatal ?? new FatalErrors()).Record,
        };

    public static LogOptions DiskOptions(string directory, long segmentSize = 16 << 10, int maxEntrySize = 1024, FatalErrors? fatal = null) => new()
    {
        Directory = directory,
        SegmentSize = segmentSize,
        MaxEntrySize = maxEntrySize,
        OnFatalError = (fatal ?? new FatalErrors()).Record,
    };

    /// <summary>A deterministic entry; <paramref name="id"/> is stored in the type URL so tests can recognise it.</summary>
    /// <summary>
    /// FNV-1a of the id: the same in every run, unlike <see cref="string.GetHashCode()"/>, which .NET
    /// randomizes per process, so that the bytes a test writes (and any failure) are replayable.
    /// </summary>
    public static int StableHash(string id)
    {
        var hash = 2166136261u;
        foreach (var c in id)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)hash;
    }

    public static LogEntry Entry(string id, int size, PayloadKind kind = PayloadKind.Random, string principal = "tester", ulong term = 1, int seed = 0, bool lastByteNonZero = false)
    {
        var bytes = Payload(size, kind, seed == 0 ? StableHash(id) : seed);
        if (lastByteNonZero && bytes.Length > 0 && bytes[^1] == 0)
        {
            bytes[^1] = 0x5A;
        }

        return new LogEntry
        {
            Term = term,
            Principal = principal,
            TimestampMicros = 1_700_000_000_000_000 + (long)(uint)StableHash(id),
            Payload = new Any { TypeUrl = "type.test/" + id, Value = ByteString.CopyFrom(bytes) },
        };
    }

    public static byte[] Payload(int size, PayloadKind kind, int seed)
    {
        var bytes = new byte[size];
        switch (kind)
        {
            case PayloadKind.Random:
                new Random(seed).NextBytes(bytes);
                break;
            case PayloadKind.Text:
                var random = new Random(seed);
                var text = new StringBuilder(size + 32);
                while (text.Length < size)
                {
                    text.Append(Words[random.Next(Words.Length)]).Append(' ');
                }

                Encoding.ASCII.GetBytes(text.ToString(0, size), bytes);
                break;
        }

        return bytes;
    }

    public static string IdOf(LogEntry entry) => entry.Payload.TypeUrl["type.test/".Length..];

    /// <summary>Asserts protobuf equality entry by entry, saying where the first difference is.</summary>
    public static void AssertEntries(IReadOnlyList<LogEntry> expected, IReadOnlyList<LogEntry> actual, string context)
    {
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            if (!expected[i].Equals(actual[i]))
            {
                Assert.Fail($"{context}: entry #{i} (position {expected[i].Position}) differs: expected {Describe(expected[i])}, got {Describe(actual[i])}");
            }
        }

        Assert.True(expected.Count == actual.Count, $"{context}: expected {expected.Count} entries, got {actual.Count}");
    }

    public static string Describe(LogEntry e) =>
        $"[pos {e.Position} term {e.Term} ts {e.TimestampMicros} principal '{(e.Principal.Length > 20 ? e.Principal[..20] + "…" : e.Principal)}' "
        + $"{e.Payload?.TypeUrl} {e.Payload?.Value.Length ?? -1} bytes]";

    /// <summary>Reads the whole log back, also checking that positions are contiguous from the first retained one.</summary>
    public static List<LogEntry> ReadAll(SegmentedLog log)
    {
        var entries = log.Read(log.FirstRetainedPosition).ToList();
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(log.FirstRetainedPosition + (ulong)i, entries[i].Position);
        }

        Assert.Equal(log.LastDurablePosition, log.FirstRetainedPosition + (ulong)entries.Count - 1);
        return entries;
    }

    /// <summary>The segment files of a log directory, oldest first.</summary>
    public static List<string> SegmentFiles(IFileSystem fs, string logDirectory) =>
        fs.ListFiles(Path.Combine(logDirectory, "log"))
            .Where(SimulatedFileSystem.IsSegmentFile)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// Walks the records of a segment by their headers' lengths (record format v1: u32 crc, u8
    /// version, u8 codec, u16 reserved, u32 payload length, u32 payload crc, u64 position, u64 term,
    /// u32 chunk index, u32 chunk count), stopping at an all-zero header.
    /// </summary>
    public static List<RecordLayout> WalkRecords(string file, byte[] bytes)
    {
        var records = new List<RecordLayout>();
        long offset = DataStart(bytes);
        while (offset + 40 <= bytes.Length && bytes.AsSpan((int)offset, 40).IndexOfAnyExcept((byte)0) >= 0)
        {
            var header = bytes.AsSpan((int)offset, 40);
            var length = 40 + BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            records.Add(new RecordLayout(
                file,
                offset,
                length,
                BinaryPrimitives.ReadUInt64LittleEndian(header[16..]),
                BinaryPrimitives.ReadInt32LittleEndian(header[32..]),
                BinaryPrimitives.ReadInt32LittleEndian(header[36..])));
            offset += length;
        }

        return records;
    }

    /// <summary>
    /// A segment header of format version 1, as builds before the previous term wrote it: magic,
    /// u32 version 1, reserved zeros at 12..16 and 24..28, u64 first position at 16, CRC32C at 28.
    /// </summary>
    /// <summary>Runs seeds 1..<paramref name="seeds"/> and fails with the first three that failed, each named with its seed.</summary>
    public static async Task RunSeedsAsync(int seeds, Func<int, Task> run)
    {
        var failures = new List<string>();
        for (var seed = 1; seed <= seeds && failures.Count < 3; seed++)
        {
            try
            {
                await run(seed);
            }
            catch (Exception e)
            {
                failures.Add($"seed {seed}: {e}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>Every entry read was submitted, appears once, and is intact (its position aside).</summary>
    public static void AssertSubmittedOnce(IEnumerable<LogEntry> read, IReadOnlyDictionary<string, LogEntry> submitted)
    {
        var ids = new HashSet<string>();
        foreach (var entry in read)
        {
            var id = IdOf(entry);
            Assert.True(ids.Add(id), $"entry {id} appears twice");
            Assert.True(submitted.TryGetValue(id, out var original), $"entry {id} was never submitted");
            var expected = original.Clone();
            expected.Position = entry.Position;
            Assert.Equal(expected, entry);
        }
    }

    /// <summary>Where a segment's records start, by the format version in its header: 48 bytes for version 3, 32 before.</summary>
    public static int DataStart(ReadOnlySpan<byte> segment) =>
        BinaryPrimitives.ReadUInt32LittleEndian(segment[8..]) >= 3 ? 48 : 32;

    /// <summary>The format of the first segment of a new log: version 3, generation 1, zero-filled.</summary>
    public static SegmentFormat FreshFormat => new(3, 1, false);

    /// <summary>
    /// A segment the log wrote (format version 3) as a build before version 3 would have written
    /// it: the given 32-byte header, then the same records with record format version 1 (unsalted
    /// header checksums, flags kept), zeros after them.
    /// </summary>
    public static byte[] AsVersion1Records(byte[] segment, ReadOnlySpan<byte> header)
    {
        var old = new byte[segment.Length];
        header.CopyTo(old);
        long at = 32;
        foreach (var record in WalkRecords("memory", segment))
        {
            var bytes = old.AsSpan((int)at, (int)record.Length);
            segment.AsSpan((int)record.Offset, (int)record.Length).CopyTo(bytes);
            bytes[4] = RecordHeader.FirstVersion;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, RecordHeader.Checksum(bytes, salt: null));
            at += record.Length;
        }

        return old;
    }

    public static byte[] Version1SegmentHeader(ulong first)
    {
        var header = new byte[32];
        "AURLOG\r\n"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(16), first);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), Crc32C.Compute(header.AsSpan(0, 28)));
        return header;
    }

    /// <summary>Runs an async workload off xunit's synchronization context (for FsCheck properties, which are synchronous).</summary>
    public static void Run(Func<Task> work) => Task.Run(work).GetAwaiter().GetResult();
}
