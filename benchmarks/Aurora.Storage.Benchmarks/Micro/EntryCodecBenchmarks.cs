using System.Buffers;
using Aurora.Storage.Benchmarks.Harness;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Aurora.Storage.Benchmarks.Micro;

/// <summary>
/// A 1 KiB entry into records (what the writer does per append) and back (what a read does per
/// entry), each against bare protobuf, which is the part the record format adds to.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class EntryCodecBenchmarks
{
    private readonly EntryCodec _codec = new(CompressionCodec.None, 4096, LogOptions.DefaultMaxEntrySize);
    private readonly ArrayBufferWriter<byte> _output = new(1 << 16);
    private LogEntry _entry = new();
    private byte[] _serialized = [];
    private byte[] _record = [];

    [GlobalSetup]
    public void Setup()
    {
        _entry = Payloads.Entry(Payloads.Blob(Payloads.DefaultPayloadBytes));
        _entry.Position = 1_000_000;
        _entry.TimestampMicros = 1_763_000_000_000_000;
        _serialized = Google.Protobuf.MessageExtensions.ToByteArray(_entry);
        _codec.Encode(_entry, _output);
        _record = _output.WrittenSpan.ToArray();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Encode")]
    public byte[] Protobuf_serialize() => Google.Protobuf.MessageExtensions.ToByteArray(_entry);

    [Benchmark]
    [BenchmarkCategory("Encode")]
    public int Encode_records()
    {
        _output.ResetWrittenCount();
        _codec.Encode(_entry, _output);
        return _output.WrittenCount;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Decode")]
    public LogEntry Protobuf_parse() => LogEntry.Parser.ParseFrom(_serialized);

    [Benchmark]
    [BenchmarkCategory("Decode")]
    public LogEntry Decode_entry() => EntryCodec.Decode(CompressionCodec.None, _serialized);

    /// <summary>One record as a read meets it: header checks and both CRCs, then the entry.</summary>
    [Benchmark]
    [BenchmarkCategory("Decode")]
    public LogEntry Check_and_decode_record()
    {
        if (!RecordHeader.TryRead(_record, SegmentFormat.Version2, out var header, out var problem))
        {
            throw new InvalidDataException(problem);
        }

        var payload = _record.AsSpan(RecordHeader.Size, header.PayloadLength);
        if (Storage.Crc32C.Compute(payload) != header.PayloadCrc)
        {
            throw new InvalidDataException("payload checksum mismatch");
        }

        return EntryCodec.Decode(header.Codec, payload);
    }
}
