using System.Buffers;
using System.Text;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.Benchmarks.Micro;

/// <summary>
/// Entry encoding and decoding with each compression codec on a compressible payload (repetitive
/// JSON, like a batch of task state changes), against no compression.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class CompressionBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(1 << 20);
    private readonly Dictionary<CompressionCodec, EntryCodec> _codecs = [];
    private readonly Dictionary<CompressionCodec, byte[]> _stored = [];
    private LogEntry _entry = new();

    [Params(16 * 1024, 256 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _entry = new LogEntry
        {
            Position = 1,
            Term = 1,
            TimestampMicros = 1_763_000_000_000_000,
            Principal = "bench",
            Payload = new Any { TypeUrl = "type.aurora.dev/bench.Json", Value = ByteString.CopyFrom(CompressibleJson(Size)) },
        };
        foreach (var codec in new[] { CompressionCodec.None, CompressionCodec.Deflate, CompressionCodec.Brotli })
        {
            // One chunk whatever the size, so decoding measures the codec, not reassembly.
            var entryCodec = new EntryCodec(codec, compressionMinBytes: 0, maxChunkSize: 1 << 20);
            _codecs[codec] = entryCodec;
            _output.ResetWrittenCount();
            entryCodec.Encode(_entry, _output);
            _ = RecordHeader.TryRead(_output.WrittenSpan, SegmentFormat.Version2, out var header, out _);
            _stored[codec] = _output.WrittenSpan.Slice(RecordHeader.Size, header.PayloadLength).ToArray();
            Console.WriteLine($"// {codec}: {Size} B payload stored as {_stored[codec].Length} B (codec {header.Codec})");
        }
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Encode")]
    public int Encode_none() => Encode(CompressionCodec.None);

    [Benchmark]
    [BenchmarkCategory("Encode")]
    public int Encode_deflate() => Encode(CompressionCodec.Deflate);

    [Benchmark]
    [BenchmarkCategory("Encode")]
    public int Encode_brotli() => Encode(CompressionCodec.Brotli);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Decode")]
    public LogEntry Decode_none() => EntryCodec.Decode(CompressionCodec.None, _stored[CompressionCodec.None]);

    [Benchmark]
    [BenchmarkCategory("Decode")]
    public LogEntry Decode_deflate() => EntryCodec.Decode(CompressionCodec.Deflate, _stored[CompressionCodec.Deflate]);

    [Benchmark]
    [BenchmarkCategory("Decode")]
    public LogEntry Decode_brotli() => EntryCodec.Decode(CompressionCodec.Brotli, _stored[CompressionCodec.Brotli]);

    private int Encode(CompressionCodec codec)
    {
        _output.ResetWrittenCount();
        _codecs[codec].Encode(_entry, _output);
        return _output.WrittenCount;
    }

    private static byte[] CompressibleJson(int size)
    {
        var random = new Random(42);
        var text = new StringBuilder(size + 256);
        var states = new[] { "PENDING", "ASSIGNED", "STARTING", "RUNNING", "FINISHED", "FAILED", "KILLED", "LOST" };
        for (var i = 0; text.Length < size; i++)
        {
            text.Append("{\"event\":\"TaskStateChanged\",\"task\":\"www-data-prod-hello-")
                .Append(random.Next(1000)).Append("-0a1b").Append(random.Next(10000)).Append("\",\"from\":\"")
                .Append(states[random.Next(states.Length)]).Append("\",\"to\":\"").Append(states[random.Next(states.Length)])
                .Append("\",\"host\":\"agent-").Append(random.Next(64)).Append(".example.net\",\"message\":\"\"},");
        }

        return Encoding.UTF8.GetBytes(text.ToString(0, size));
    }
}
