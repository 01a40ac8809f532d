using System.Buffers;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// The on-disk format, byte for byte. A change here breaks every log already written: it needs a
/// new format version and a reader for the old one, not an updated constant.
/// </summary>
public class GoldenBytesTests
{
    private static LogEntry Fixed() => new()
    {
        Position = 7,
        Term = 3,
        TimestampMicros = 1_700_000_000_123_456,
        Principal = "alice",
        Payload = new Any { TypeUrl = "type.test/x", Value = ByteString.CopyFrom(1, 2, 3) },
    };

    [Fact]
    public void A_record_of_a_fixed_entry_has_exactly_these_bytes()
    {
        var output = new ArrayBufferWriter<byte>();
        new EntryCodec(CompressionCodec.None, 4096, 1024).Encode(Fixed(), output);
        Assert.Equal(
            string.Concat(
                "3A3B5242", // header CRC32C of bytes 4..40
                "01", // record format version
                "00", // codec: none
                "0000", // flags (none: not the first record of a write group)
                "28000000", // payload length 40
                "0930EF4D", // payload CRC32C
                "0700000000000000", // position 7
                "0300000000000000", // term 3
                "00000000", // chunk index 0
                "01000000", // chunk count 1
                "0807", // LogEntry.position = 7
                "1003", // LogEntry.term = 3
                "18C0C480C1C1C48203", // LogEntry.timestamp_micros = 1700000000123456
                "2205616C696365", // LogEntry.principal = "alice"
                "2A12" + "0A0B747970652E746573742F78" + "1203010203"), // LogEntry.payload = Any("type.test/x", 01 02 03)
            Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void The_chunk_headers_of_a_large_entry_have_exactly_these_bytes()
    {
        var entry = Fixed();
        entry.Payload.Value = ByteString.CopyFrom(new byte[2500]);
        var output = new ArrayBufferWriter<byte>();
        new EntryCodec(CompressionCodec.None, 4096, 1024).Encode(entry, output);
        var records = LogKit.WalkRecords("memory", [.. new byte[32], .. output.WrittenSpan]);
        Assert.Equal(3, records.Count);
        var headers = records.Select(r => Convert.ToHexString(output.WrittenSpan.Slice((int)r.Offset - 32, 40))).ToList();
        Assert.Equal(
            [
                "873945690100000000040000C70CE28F070000000000000003000000000000000000000003000000",
                "46C22E3301000000000400007CDEAEEE070000000000000003000000000000000100000003000000",
                "96CFA22601000000EB010000EF733D1F070000000000000003000000000000000200000003000000",
            ],
            headers);
    }

    [Fact]
    public void A_record_sealed_for_a_version_3_segment_has_exactly_these_bytes()
    {
        var output = new ArrayBufferWriter<byte>();
        new EntryCodec(CompressionCodec.None, 4096, 1024).Encode(Fixed(), output);
        var bytes = output.WrittenSpan.ToArray();
        var format = new SegmentFormat(SegmentHeader.CurrentVersion, Generation: 5, Recycled: true);
        RecordHeader.SealGroup(bytes, format);
        Assert.Equal(
            string.Concat(
                "93A5071E", // header CRC32C of the generation (u64) followed by bytes 4..40
                "02", // record format version 2
                "00", // codec: none
                "0100", // flags: the first record of a write group
                "28000000", // payload length 40
                "0930EF4D", // payload CRC32C (not salted)
                "0700000000000000", // position 7
                "0300000000000000", // term 3
                "00000000", // chunk index 0
                "01000000"), // chunk count 1
            Convert.ToHexString(bytes.AsSpan(0, RecordHeader.Size)));
        Assert.True(RecordHeader.TryRead(bytes, format, out var header, out var problem), problem);
        Assert.Equal((7UL, 3UL, RecordFlags.GroupStart), (header.Position, header.Term, header.Flags));
    }

    [Fact]
    public void A_record_validates_only_under_its_own_segments_generation_and_version()
    {
        var output = new ArrayBufferWriter<byte>();
        new EntryCodec(CompressionCodec.None, 4096, 1024).Encode(Fixed(), output);
        var sealedFor5 = output.WrittenSpan.ToArray();
        RecordHeader.SealGroup(sealedFor5, new SegmentFormat(SegmentHeader.CurrentVersion, 5, Recycled: false));

        foreach (var generation in new ulong[] { 0, 1, 4, 6, 5UL + (1UL << 31), ulong.MaxValue })
        {
            Assert.False(RecordHeader.TryRead(sealedFor5, new SegmentFormat(SegmentHeader.CurrentVersion, generation, true), out _, out var problem));
            Assert.Equal("record header checksum mismatch (or a record of this recycled file's earlier use)", problem);
        }

        // A version-1 record (segment format 1 or 2) is never read in a version-3 segment, nor the reverse.
        Assert.False(RecordHeader.TryRead(output.WrittenSpan, new SegmentFormat(SegmentHeader.CurrentVersion, 0, false), out _, out _));
        Assert.False(RecordHeader.TryRead(sealedFor5, SegmentFormat.Version2, out _, out _));
        Assert.True(RecordHeader.TryRead(output.WrittenSpan, SegmentFormat.Version2, out _, out var v1Problem), v1Problem);
    }

    [Fact]
    public void A_segment_header_has_exactly_these_bytes()
    {
        var header = new byte[SegmentHeader.Size];
        SegmentHeader.Write(header, 42, previousTerm: (7UL << 32) | 3, generation: 5, recycled: true);
        Assert.Equal(
            string.Concat(
                "4155524C4F470D0A", // magic "AURLOG\r\n"
                "03000000", // segment format version 3
                "03000000", // previous term, low 32 bits
                "2A00000000000000", // first position 42
                "07000000", // previous term, high 32 bits
                "9DEC606A", // CRC32C of bytes 0..28
                "0500000000000000", // generation 5
                "01000000", // flags: recycled
                "159B9302"), // CRC32C of bytes 32..44
            Convert.ToHexString(header));
        Assert.True(SegmentHeader.TryRead(header, out var first, out var previousTerm, out var format, out var problem), problem);
        Assert.Equal((42UL, (ulong?)((7UL << 32) | 3), new SegmentFormat(3, 5, true)), (first, previousTerm, format));
        Assert.Equal((48, RecordHeader.CurrentVersion, (ulong?)5), (format.DataStart, format.RecordVersion, format.Salt));
    }

    [Fact]
    public void A_version_2_segment_header_is_still_read()
    {
        var header = Convert.FromHexString(string.Concat(
            "4155524C4F470D0A", // magic "AURLOG\r\n"
            "02000000", // segment format version 2
            "03000000", // previous term, low 32 bits
            "2A00000000000000", // first position 42
            "07000000", // previous term, high 32 bits
            "201B235D")); // CRC32C of bytes 0..28
        Assert.True(SegmentHeader.TryRead(header, out var first, out var previousTerm, out var format, out var problem), problem);
        Assert.Equal((42UL, (ulong?)((7UL << 32) | 3), SegmentFormat.Version2), (first, previousTerm, format));
        Assert.Equal((32, RecordHeader.FirstVersion, (ulong?)null), (format.DataStart, format.RecordVersion, format.Salt));
    }

    [Fact]
    public void A_version_1_segment_header_is_still_read_and_knows_the_previous_term_only_at_position_1()
    {
        var header = Convert.FromHexString(string.Concat(
            "4155524C4F470D0A", // magic
            "01000000", // segment format version 1
            "00000000", // reserved
            "2A00000000000000", // first position 42
            "00000000", // reserved
            "DEDB1F0E")); // CRC32C of bytes 0..28
        Assert.Equal(header, LogKit.Version1SegmentHeader(42));
        Assert.True(SegmentHeader.TryRead(header, out var first, out var previousTerm, out var format, out var problem), problem);
        Assert.Equal((42UL, (ulong?)null, new SegmentFormat(1, 0, false)), (first, previousTerm, format));
        Assert.True(SegmentHeader.TryRead(LogKit.Version1SegmentHeader(1), out first, out previousTerm, out _, out problem), problem);
        Assert.Equal((1UL, (ulong?)0), (first, previousTerm));
    }

    [Fact]
    public void Segment_headers_of_an_unknown_version_or_a_nonzero_term_before_position_1_are_refused()
    {
        var header = new byte[SegmentHeader.Size];
        SegmentHeader.Write(header, 1, previousTerm: 5, generation: 1, recycled: false);
        Assert.False(SegmentHeader.TryRead(header, out _, out _, out _, out var problem));
        Assert.Equal("segment starts at position 1 but says position 0 has term 5", problem);

        SegmentHeader.Write(header, 9, previousTerm: 5, generation: 1, recycled: false);
        header[8] = 4;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), Crc32C.Compute(header.AsSpan(0, 28)));
        Assert.False(SegmentHeader.TryRead(header, out _, out _, out _, out problem));
        Assert.Equal("unknown segment format version 4 (this build reads versions 1 to 3)", problem);

        SegmentHeader.Write(header, 9, previousTerm: 5, generation: 1, recycled: false);
        header[33] ^= 1; // the generation, covered by the second checksum
        Assert.False(SegmentHeader.TryRead(header, out _, out _, out _, out problem));
        Assert.Equal("segment header checksum mismatch (bytes 32..48)", problem);
    }

    [Fact]
    public async Task A_new_log_file_starts_with_the_segment_header_and_the_first_record()
    {
        var fs = new SimulatedFileSystem(seed: 1);
        using (var log = SegmentedLog.Open(LogKit.SimOptions(fs)))
        {
            var entry = Fixed();
            entry.Position = 0;
            entry.Term = 3;
            await log.AppendAsync(entry);
        }

        var file = LogKit.SegmentFiles(fs, LogKit.SimDirectory).Single();
        Assert.Equal("segment-00000000000000000001.log", Path.GetFileName(file));
        var bytes = fs.ReadAll(file);
        Assert.Equal(16 << 10, bytes.Length);
        Assert.Equal(
            string.Concat(
                "4155524C4F470D0A0300000000000000010000000000000000000000A32F3B8F", // version 3, first position 1, previous term 0
                "0100000000000000000000006D61111A", // generation 1, not recycled
                "90B0710E02000100280000000D37EB8F010000000000000003000000000000000000000001000000", // record version 2, flags 0x0001: starts a write group
                "0801100318C0C480C1C1C482032205616C6963652A120A0B747970652E746573742F781203010203"),
            Convert.ToHexString(bytes.AsSpan(0, 48 + 40 + 40)));
        Assert.True(bytes.AsSpan(48 + 40 + 40).IndexOfAnyExcept((byte)0) < 0, "the rest of a preallocated segment is zeros");
    }
}
