using System.Buffers;
using System.Buffers.Binary;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.Tests.Log;

public class LogVerifierTests
{
    private static LogOptions Options(string directory) => new()
    {
        Directory = directory,
        SegmentSize = 32 * 1024,
        MaxEntrySize = 1024,
        Compression = CompressionCodec.Deflate,
        CompressionMinBytes = 512,
        OnFatalError = _ => { },
    };

    /// <summary>Entries of mixed sizes: small ones, and some that are chunked (and compressible ones compressed).</summary>
    private static LogEntry Entry(int i, ulong term)
    {
        var random = new Random(i);
        var bytes = new byte[i % 7 == 0 ? 2500 + random.Next(1500) : 50 + random.Next(300)];
        if (i % 3 == 0)
        {
            random.NextBytes(bytes);
        }
        else
        {
            bytes.AsSpan().Fill((byte)i);
        }

        return new LogEntry
        {
            Term = term,
            Principal = "tester",
            Payload = new Any { TypeUrl = "type.test/blob", Value = ByteString.CopyFrom(bytes) },
        };
    }

    private static async Task WriteLogAsync(string directory, int count)
    {
        using var log = SegmentedLog.Open(Options(directory));
        // One request per entry: a request never spans segments.
        await Task.WhenAll(Enumerable.Range(1, count).Select(i => log.AppendAsync(Entry(i, 1 + ((ulong)i / 50)))));
    }

    private static string[] Segments(string directory) =>
        [.. Directory.GetFiles(Path.Combine(directory, "log"), "segment-*.log").Order(StringComparer.Ordinal)];

    /// <summary>Offsets and lengths of a segment's records, read with the format's own layout.</summary>
    private static List<(long Offset, int Length)> Records(string segment)
    {
        var bytes = File.ReadAllBytes(segment);
        var records = new List<(long, int)>();
        for (var offset = LogKit.DataStart(bytes); offset + RecordHeader.Size <= bytes.Length && bytes.AsSpan(offset, RecordHeader.Size).IndexOfAnyExcept((byte)0) >= 0;)
        {
            var length = RecordHeader.Size + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset + 8));
            records.Add((offset, length));
            offset += length;
        }

        return records;
    }

    private static void Patch(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        file.Write(bytes);
    }

    private static void FlipBit(string path, long offset, int bit)
    {
        var bytes = File.ReadAllBytes(path);
        Patch(path, offset, [(byte)(bytes[offset] ^ (1 << bit))]);
    }

    /// <summary>Writes a segment file by hand: a version-1 header (no previous term), then the given records back to back.</summary>
    private static string WriteSegment(string directory, ulong first, params byte[][] records)
    {
        var segmentDirectory = Path.Combine(directory, "log");
        Directory.CreateDirectory(segmentDirectory);
        var bytes = new byte[4096];
        LogKit.Version1SegmentHeader(first).CopyTo(bytes, 0);
        var offset = SegmentHeader.LegacySize;
        foreach (var record in records)
        {
            record.CopyTo(bytes, offset);
            offset += record.Length;
        }

        var path = Path.Combine(segmentDirectory, Segment.FileName(first));
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Encode(LogEntry entry, int maxChunk = 1024)
    {
        var output = new ArrayBufferWriter<byte>();
        new EntryCodec(CompressionCodec.None, 0, maxChunk).Encode(entry, output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A record for a hand-written segment (format version 1 or 2), or for one the log wrote (<paramref name="format"/>).</summary>
    private static byte[] RawRecord(ulong position, ulong term, byte[] payload, SegmentFormat? format = null)
    {
        var record = new byte[RecordHeader.Size + payload.Length];
        new RecordHeader(CompressionCodec.None, payload.Length, Crc32C.Compute(payload), position, term, 0, 1).Write(record, format ?? SegmentFormat.Version2);
        payload.CopyTo(record, RecordHeader.Size);
        return record;
    }

    private static LogEntry Small(ulong position, ulong term) => new()
    {
        Position = position,
        Term = term,
        TimestampMicros = 1,
        Principal = "p",
        Payload = new Any { TypeUrl = "type.test/x", Value = ByteString.CopyFromUtf8("hello") },
    };

    [Fact]
    public async Task A_sound_log_of_chunked_and_compressed_entries_has_no_problems()
    {
        using var dir = new TempDirectory();
        await WriteLogAsync(dir.Path, 300);

        var result = LogVerifier.Verify(Options(dir.Path));

        Assert.Empty(result.Problems);
        Assert.Equal(300UL, result.Entries);
        Assert.Equal(Segments(dir.Path).Length, result.Segments);
        Assert.True(result.Segments > 3, "the test needs several segments");
        Assert.False(result.HasErrors);
    }

    [Fact]
    public void A_directory_without_a_log_has_no_problems()
    {
        using var dir = new TempDirectory();

        var result = LogVerifier.Verify(Options(dir.Path));

        Assert.Empty(result.Problems);
        Assert.Equal(0, result.Segments);
    }

    [Fact]
    public async Task Each_flipped_bit_in_sealed_segments_is_reported_once_at_its_record()
    {
        // Seeded: a failure names the seed, and rerunning with it reproduces the same damage.
        using var template = new TempDirectory();
        await WriteLogAsync(template.Path, 300);
        var sealedSegments = Segments(template.Path)[..^1];
        for (var seed = 1; seed <= 40; seed++)
        {
            using var dir = new TempDirectory();
            CopyLog(template.Path, dir.Path);
            var random = new Random(seed);
            var targets = sealedSegments
                .SelectMany(s => Records(s).Select(r => (Segment: Path.Combine(dir.Path, "log", Path.GetFileName(s)), r.Offset, r.Length)))
                .OrderBy(_ => random.Next())
                .Take(1 + random.Next(4))
                .OrderBy(t => t.Segment, StringComparer.Ordinal).ThenBy(t => t.Offset)
                .ToList();
            foreach (var (segment, offset, length) in targets)
            {
                FlipBit(segment, offset + random.NextInt64(length), random.Next(8));
            }

            var result = LogVerifier.Verify(Options(dir.Path));

            var expected = targets.Select(t => (t.Segment, t.Offset)).ToList();
            var actual = result.Problems.Select(p => (p.File, p.Offset)).ToList();
            Assert.True(expected.SequenceEqual(actual),
                $"seed {seed}: expected problems at {string.Join(", ", expected)}; got:\n{string.Join("\n", result.Problems)}");
            Assert.True(result.Problems.All(p => !p.IsTornTail), $"seed {seed}: damage in a sealed segment is never a torn tail");
        }
    }

    [Fact]
    public async Task A_torn_tail_is_a_warning_at_the_offset_open_would_cut()
    {
        using var dir = new TempDirectory();
        await WriteLogAsync(dir.Path, 100);
        var last = Segments(dir.Path)[^1];
        var end = Records(last).Select(r => r.Offset + r.Length).Last();
        var torn = RawRecord(101, 3, new byte[2000].Select((_, i) => (byte)(i + 1)).ToArray(), LogKit.FreshFormat);
        Patch(last, end, torn.AsSpan(0, RecordHeader.Size + 100)); // the rest of the payload never made it

        var result = LogVerifier.Verify(Options(dir.Path));
        using var log = SegmentedLog.Open(Options(dir.Path) with { ReadOnly = true });

        var problem = Assert.Single(result.Problems);
        Assert.True(problem.IsTornTail);
        Assert.False(result.HasErrors);
        Assert.Equal(log.TornTail!.File, problem.File);
        Assert.Equal(log.TornTail.Offset, problem.Offset);
        Assert.Equal(101UL, problem.Position);
        Assert.Equal(100UL, result.Entries);
    }

    [Fact]
    public async Task Damage_that_looks_torn_in_a_sealed_segment_is_an_error()
    {
        using var dir = new TempDirectory();
        await WriteLogAsync(dir.Path, 300);
        var first = Segments(dir.Path)[0];
        var end = Records(first).Select(r => r.Offset + r.Length).Last();
        Patch(first, end, RawRecord(999, 1, new byte[2000].Select(_ => (byte)7).ToArray(), LogKit.FreshFormat).AsSpan(0, RecordHeader.Size));

        var result = LogVerifier.Verify(Options(dir.Path));

        var problem = Assert.Single(result.Problems);
        Assert.False(problem.IsTornTail);
        Assert.Equal((first, end), (problem.File, problem.Offset));
    }

    [Fact]
    public async Task Bytes_after_the_last_record_of_a_sealed_segment_are_an_error()
    {
        using var dir = new TempDirectory();
        await WriteLogAsync(dir.Path, 300);
        var first = Segments(dir.Path)[0];
        var end = Records(first).Select(r => r.Offset + r.Length).Last();
        Patch(first, end + 100, [1, 2, 3]);

        var result = LogVerifier.Verify(Options(dir.Path));

        var problem = Assert.Single(result.Problems);
        Assert.Equal(end + 100, problem.Offset);
        Assert.Equal($"non-zero bytes at offset {end + 100} after the last record", problem.Problem);
    }

    [Fact]
    public async Task A_missing_segment_is_reported_as_a_gap()
    {
        using var dir = new TempDirectory();
        await WriteLogAsync(dir.Path, 300);
        var segments = Segments(dir.Path);
        File.Delete(segments[1]);
        Assert.True(Segment.TryParseFileName(segments[2], out var thirdFirst));
        Assert.True(Segment.TryParseFileName(segments[1], out var missingFirst));

        var result = LogVerifier.Verify(Options(dir.Path));

        var problem = Assert.Single(result.Problems);
        Assert.Equal((segments[2], 0L, (ulong?)missingFirst), (problem.File, problem.Offset, problem.Position));
        Assert.Equal($"gap in the log: the previous segment ends at position {missingFirst - 1}, this one starts at {thirdFirst}", problem.Problem);
    }

    [Fact]
    public async Task A_damaged_segment_header_is_reported_and_its_records_still_checked()
    {
        using var dir = new TempDirectory();
        await WriteLogAsync(dir.Path, 300);
        var first = Segments(dir.Path)[0];
        FlipBit(first, 1, 0);

        var result = LogVerifier.Verify(Options(dir.Path));

        var problem = Assert.Single(result.Problems);
        Assert.Equal((first, 0L, "not an Aurora log segment (bad magic)"), (problem.File, problem.Offset, problem.Problem));
        Assert.Equal(300UL, result.Entries);
    }

    [Fact]
    public void Entries_that_do_not_decode_or_contradict_their_record_are_reported()
    {
        using var dir = new TempDirectory();
        var one = Encode(Small(1, 1));
        var two = RawRecord(2, 1, [0xFF, 0xFF, 0xFF, 0xFF]);
        var liar = Small(9, 1);
        var three = Encode(liar);
        // Re-label the record as position 3, keeping its header checksum valid.
        var header = new RecordHeader(CompressionCodec.None, three.Length - RecordHeader.Size, BinaryPrimitives.ReadUInt32LittleEndian(three.AsSpan(12)), 3, 1, 0, 1);
        header.Write(three, SegmentFormat.Version2);
        var four = Encode(Small(4, 1));
        var path = WriteSegment(dir.Path, 1, one, two, three, four);

        var result = LogVerifier.Verify(Options(dir.Path));

        Assert.Equal(2, result.Problems.Count);
        var undecodable = result.Problems[0];
        Assert.Equal((SegmentHeader.LegacySize + one.Length, (ulong?)2UL), (undecodable.Offset, undecodable.Position));
        Assert.StartsWith("entry does not decode: ", undecodable.Problem, StringComparison.Ordinal);
        var contradicting = result.Problems[1];
        Assert.Equal((SegmentHeader.LegacySize + one.Length + two.Length, (ulong?)3UL), (contradicting.Offset, contradicting.Position));
        Assert.Equal("entry says position 9 term 1, its record says position 3 term 1", contradicting.Problem);
        Assert.All(result.Problems, p => Assert.Equal(path, p.File));
        Assert.Equal(2UL, result.Entries);
    }

    [Fact]
    public void Position_gaps_term_decreases_and_partial_chunk_sets_are_reported()
    {
        using var dir = new TempDirectory();
        var chunked = Encode(WithPayload(Small(3, 5), 3000), maxChunk: 1024);
        var firstChunkOnly = chunked.AsSpan(0, RecordHeader.Size + 1024).ToArray();
        WriteSegment(dir.Path, 1, Encode(Small(1, 5)), Encode(Small(2, 5)), firstChunkOnly);
        var second = WriteSegment(dir.Path, 4, Encode(Small(4, 3)), Encode(Small(6, 3)), Encode(Small(7, 3)));

        var result = LogVerifier.Verify(Options(dir.Path));

        Assert.Equal(
            [
                "entry 3 has only some of its chunks",
                "term 3 is lower than the previous entry's term 5",
                "expected position 5, found 6",
            ],
            result.Problems.Select(p => p.Problem));
        Assert.All(result.Problems.Skip(1), p => Assert.Equal(second, p.File));
        Assert.Equal(5UL, result.Entries);
    }

    private static LogEntry WithPayload(LogEntry entry, int size)
    {
        entry.Payload = new Any { TypeUrl = "type.test/x", Value = ByteString.CopyFrom(new byte[size].Select((_, i) => (byte)i).ToArray()) };
        return entry;
    }

    private static void CopyLog(string from, string to)
    {
        Directory.CreateDirectory(Path.Combine(to, "log"));
        foreach (var file in Directory.GetFiles(Path.Combine(from, "log"), "segment-*.log"))
        {
            File.Copy(file, Path.Combine(to, "log", Path.GetFileName(file)));
        }
    }
}
