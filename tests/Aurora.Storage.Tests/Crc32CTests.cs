namespace Aurora.Storage.Tests;

public class Crc32CTests
{
    /// <summary>The textbook bit-at-a-time CRC-32C, as the reference the fast code must equal.</summary>
    private static uint Reference(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc >> 1) ^ ((crc & 1) != 0 ? 0x82F63B78u : 0);
            }
        }

        return ~crc;
    }

    [Fact]
    public void The_check_value_of_123456789_is_E3069283() =>
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));

    [Fact]
    public void Crc32C_matches_the_bitwise_reference_for_every_length_and_split()
    {
        var random = new Random(20261122);
        var data = new byte[70_000];
        random.NextBytes(data);
        var lengths = Enumerable.Range(0, 1100).Concat([8191, 8192, 24_575, 24_576, 24_577, 69_999, 70_000]);
        foreach (var length in lengths)
        {
            var span = data.AsSpan(random.Next(0, 8), Math.Min(length, data.Length - 8));
            var expected = Reference(span);
            Assert.True(expected == Crc32C.Compute(span), $"length {span.Length}");
            var split = random.Next(0, span.Length + 1);
            Assert.True(expected == ~Crc32C.Append(Crc32C.Append(~0u, span[..split]), span[split..]), $"length {span.Length} split at {split}");
        }
    }
}
