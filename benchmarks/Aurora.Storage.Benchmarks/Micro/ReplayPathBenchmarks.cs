using System.Buffers;
using Aurora.Storage.Benchmarks.Harness;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using BenchmarkDotNet.Attributes;

namespace Aurora.Storage.Benchmarks.Micro;

/// <summary>
/// The read path per entry, layer by layer, over an in-memory segment of 1 KiB entries (no system
/// calls, so this is the CPU cost a warm-cache replay cannot go below). The baseline is the
/// scanner alone: header parse plus both CRCs.
/// </summary>
[MemoryDiagnoser]
public class ReplayPathBenchmarks
{
    private const int Records = 4096;
    private MemoryFile _file = new([]);

    [GlobalSetup]
    public void Setup()
    {
        var codec = new EntryCodec(CompressionCodec.None, 4096, LogOptions.DefaultMaxEntrySize);
        var output = new ArrayBufferWriter<byte>();
        output.Write(new byte[SegmentHeader.LegacySize]); // records as EntryCodec encodes them: segment format 2's
        var payload = Payloads.Blob(Payloads.DefaultPayloadBytes);
        for (var i = 1; i <= Records; i++)
        {
            var entry = Payloads.Entry(payload);
            entry.Position = (ulong)i;
            entry.TimestampMicros = 1_763_000_000_000_000;
            codec.Encode(entry, output);
        }

        _file = new MemoryFile(output.WrittenSpan.ToArray());
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public long Scan()
    {
        var scanner = new SegmentScanner(_file, SegmentFormat.Version2, SegmentHeader.LegacySize, _file.Length);
        long count = 0;
        while (scanner.Next().Outcome == ScanOutcome.Record)
        {
            count++;
        }

        return count;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public long Scan_assemble()
    {
        var scanner = new SegmentScanner(_file, SegmentFormat.Version2, SegmentHeader.LegacySize, _file.Length);
        var assembler = new EntryAssembler(_file.Path, 1);
        long count = 0;
        while (scanner.Next() is { Outcome: ScanOutcome.Record } record)
        {
            if (assembler.Add(record) is not null)
            {
                count++;
            }
        }

        return count;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public long Scan_assemble_decode()
    {
        var scanner = new SegmentScanner(_file, SegmentFormat.Version2, SegmentHeader.LegacySize, _file.Length);
        var assembler = new EntryAssembler(_file.Path, 1);
        long bytes = 0;
        while (scanner.Next() is { Outcome: ScanOutcome.Record } record)
        {
            if (assembler.Add(record) is { } complete)
            {
                bytes += EntryCodec.Decode(complete.Codec, complete.Bytes.Span).Payload.Value.Length;
            }
        }

        return bytes;
    }

    /// <summary>A segment held in memory; reads copy out of the array like pread from the page cache would.</summary>
    private sealed class MemoryFile(byte[] bytes) : IStorageFile
    {
        public string Path => "memory/segment-00000000000000000001.log";

        public long Length => bytes.Length;

        public int Read(long offset, Span<byte> buffer)
        {
            var count = (int)Math.Clamp(bytes.Length - offset, 0, buffer.Length);
            bytes.AsSpan((int)offset, count).CopyTo(buffer);
            return count;
        }

        public void Write(long offset, ReadOnlySpan<byte> data) => throw new NotSupportedException();

        public void DataSync() => throw new NotSupportedException();

        public void SetLength(long length) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}
