using System.Buffers.Binary;
using System.Text;

namespace Aurora.Scheduler.Tests.Golden;

/// <summary>
/// The protobuf wire format written out by hand, independently of Google.Protobuf, so golden
/// bytes are derived from the format's rules rather than from the encoder under test: a tag is
/// <c>field &lt;&lt; 3 | wire type</c> as a varint; varints are 7 bits per byte, low first, high bit
/// set on all but the last; negative int32/int64 are sign-extended to 10 bytes; doubles are 8
/// little-endian bytes; length-delimited fields are a varint length then the bytes.
/// </summary>
internal static class Wire
{
    private const int VarintType = 0;
    private const int Fixed64Type = 1;
    private const int LengthDelimitedType = 2;

    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    public static byte[] Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    /// <summary>An int32, int64, uint32, uint64, bool or enum field (negative values sign-extended).</summary>
    public static byte[] Int(int field, long value) => Cat(Tag(field, VarintType), Varint(unchecked((ulong)value)));

    public static byte[] Bool(int field, bool value) => Int(field, value ? 1 : 0);

    public static byte[] F64(int field, double value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        return Cat(Tag(field, Fixed64Type), bytes);
    }

    public static byte[] Str(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public static byte[] Bytes(int field, byte[] value) => Cat(Tag(field, LengthDelimitedType), Varint((ulong)value.Length), value);

    /// <summary>A nested message: its fields, concatenated, length-delimited.</summary>
    public static byte[] Message(int field, params byte[][] fields) => Bytes(field, Cat(fields));

    /// <summary>A packed repeated varint field (proto3's default for repeated scalars).</summary>
    public static byte[] Packed(int field, params long[] values) => Bytes(field, Cat([.. values.Select(v => Varint(unchecked((ulong)v)))]));

    public static byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
