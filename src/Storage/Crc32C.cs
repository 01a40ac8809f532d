using System.Buffers.Binary;
using System.Numerics;

namespace Aurora.Storage;

/// <summary>CRC-32C (Castagnoli), as used by iSCSI, ext4 and LevelDB, on the CPU's crc32 instruction.</summary>
public static class Crc32C
{
    /// <summary>The CRC of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(~0u, data);

    /// <summary>Continues a raw (not finalized) CRC over more data; start from <c>~0u</c>, finish with <c>~</c>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
