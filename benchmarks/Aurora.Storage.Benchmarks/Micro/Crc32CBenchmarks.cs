using System.Buffers.Binary;
using System.Numerics;
using BenchmarkDotNet.Attributes;

namespace Aurora.Storage.Benchmarks.Micro;

/// <summary>
/// CRC32C of a record payload. The baseline is one serial chain of crc32 instructions (how
/// <see cref="Storage.Crc32C"/> worked before it split long spans into three chains); copying the
/// same bytes shows the memory-bound floor.
/// </summary>
[MemoryDiagnoser]
public class Crc32CBenchmarks
{
    private byte[] _data = [];
    private byte[] _copy = [];

    [Params(36, 1024, 64 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(42).NextBytes(_data);
        _copy = new byte[Size];
    }

    [Benchmark(Baseline = true)]
    public uint Serial_chain()
    {
        var crc = ~0u;
        ReadOnlySpan<byte> data = _data;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    [Benchmark]
    public uint Crc32C() => Storage.Crc32C.Compute(_data);

    [Benchmark]
    public void Copy() => _data.AsSpan().CopyTo(_copy);
}
