using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aurora.Storage;

/// <summary>CRC-32C (Castagnoli), as used by iSCSI, ext4 and LevelDB, on the CPU's crc32 instruction.</summary>
/// <remarks>
/// The crc32 instruction takes three cycles but a new one can start every cycle, so one serial
/// chain runs at a third of the possible speed; it was the largest cost of scanning a segment. Spans of
/// 192 bytes or more are therefore cut into three equal blocks whose CRCs run as independent chains,
/// and then combined: the CRC of <c>A || B</c> is the CRC of <c>A</c> advanced over <c>|B|</c> zero
/// bytes, xor the CRC of <c>B</c> started from zero. "Advance over n zeros" is linear, so it is a
/// 32x32 bit matrix, applied through four 256-entry tables per block size (Mark Adler's
/// crc32c.c). The result is bit-for-bit the same as the serial computation.
/// </remarks>
public static class Crc32C
{
    // Block sizes of the three-way split (powers of two, multiples of 8), and for each the tables
    // that advance a CRC over that many zero bytes.
    private const int LargeBlock = 8192;
    private const int MediumBlock = 256;
    private const int SmallBlock = 64;
    private static readonly uint[] LargeZeros = ZerosTable(LargeBlock);
    private static readonly uint[] MediumZeros = ZerosTable(MediumBlock);
    private static readonly uint[] SmallZeros = ZerosTable(SmallBlock);

    /// <summary>The CRC of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(~0u, data);

    /// <summary>Continues a raw (not finalized) CRC over more data; start from <c>~0u</c>, finish with <c>~</c>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 * SmallBlock)
        {
            while (data.Length >= 3 * LargeBlock)
            {
                crc = ThreeWay(crc, data, LargeBlock, LargeZeros);
                data = data[(3 * LargeBlock)..];
            }

            while (data.Length >= 3 * MediumBlock)
            {
                crc = ThreeWay(crc, data, MediumBlock, MediumZeros);
                data = data[(3 * MediumBlock)..];
            }

            if (data.Length >= 3 * SmallBlock)
            {
                crc = ThreeWay(crc, data, SmallBlock, SmallZeros);
                data = data[(3 * SmallBlock)..];
            }
        }

        return Serial(crc, data);
    }

    private static uint Serial(uint crc, ReadOnlySpan<byte> data)
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

    /// <summary>The raw CRC of the first <c>3 * block</c> bytes of <paramref name="data"/>, as three parallel chains.</summary>
    private static uint ThreeWay(uint crc, ReadOnlySpan<byte> data, int block, uint[] zeros)
    {
        // The caller guarantees data.Length >= 3 * block, so the unchecked reads stay inside it.
        System.Diagnostics.Debug.Assert(data.Length >= 3 * block);
        ref var first = ref MemoryMarshal.GetReference(data);
        uint crc0 = crc, crc1 = 0, crc2 = 0;
        for (var i = 0; i < block; i += 8)
        {
            crc0 = BitOperations.Crc32C(crc0, ReadLittleEndian(ref first, i));
            crc1 = BitOperations.Crc32C(crc1, ReadLittleEndian(ref first, i + block));
            crc2 = BitOperations.Crc32C(crc2, ReadLittleEndian(ref first, i + (2 * block)));
        }

        crc0 = Shift(zeros, crc0) ^ crc1;
        return Shift(zeros, crc0) ^ crc2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadLittleEndian(ref byte first, int offset)
    {
        var value = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref first, offset));
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }

    /// <summary>Advances a raw CRC over the zero bytes <paramref name="zeros"/> was built for.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Shift(uint[] zeros, uint crc) =>
        zeros[(int)(crc & 0xFF)]
        ^ zeros[256 + (int)((crc >> 8) & 0xFF)]
        ^ zeros[512 + (int)((crc >> 16) & 0xFF)]
        ^ zeros[768 + (int)(crc >> 24)];

    /// <summary>Four byte-indexed tables (one per byte of the CRC) of the operator "advance over <paramref name="length"/> zero bytes"; <paramref name="length"/> is a power of two.</summary>
    private static uint[] ZerosTable(int length)
    {
        // The operator for one zero bit of the reflected CRC: shift right, xor the polynomial if bit 0 was set.
        var odd = new uint[32];
        odd[0] = 0x82F63B78;
        for (var n = 1; n < 32; n++)
        {
            odd[n] = 1u << (n - 1);
        }

        // Squaring doubles the number of zero bits: 2, 4, 8 (one byte), then 2, 4, ... bytes.
        var op = Square(Square(odd));
        for (var bytes = 1; bytes <= length; bytes <<= 1)
        {
            op = Square(op);
        }

        var table = new uint[1024];
        for (var n = 0u; n < 256; n++)
        {
            table[n] = Times(op, n);
            table[256 + n] = Times(op, n << 8);
            table[512 + n] = Times(op, n << 16);
            table[768 + n] = Times(op, n << 24);
        }

        return table;
    }

    private static uint[] Square(uint[] matrix)
    {
        var square = new uint[32];
        for (var n = 0; n < 32; n++)
        {
            square[n] = Times(matrix, matrix[n]);
        }

        return square;
    }

    /// <summary>Matrix times vector over GF(2); column n of the matrix is the image of bit n.</summary>
    private static uint Times(uint[] matrix, uint vector)
    {
        var sum = 0u;
        for (var n = 0; vector != 0; n++, vector >>= 1)
        {
            if ((vector & 1) != 0)
            {
                sum ^= matrix[n];
            }
        }

        return sum;
    }
}
