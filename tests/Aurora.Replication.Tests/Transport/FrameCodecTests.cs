using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Google.Protobuf;

namespace Aurora.Replication.Tests.Transport;

public sealed class FrameCodecTests
{
    private const int Max = 1024 * 1024;

    [Fact]
    public void A_frame_is_a_big_endian_length_then_the_frame_bytes()
    {
        // Golden bytes: any change to the encoding fails here first.
        var frame = new Frame { Proof = new Proof { Proof_ = ByteString.CopyFrom(1, 2, 3) } };
        Assert.Equal("000000071A050A03010203", Convert.ToHexString(FrameCodec.Encode(frame)));

        var batch = WireSamples.BatchOf(WireSamples.Probe(5), WireSamples.Probe(300));
        Assert.Equal("0000000F220D0A043A0208050A053A0308AC02", Convert.ToHexString(FrameCodec.Encode(batch)));
    }

    [Fact]
    public void Encoded_frames_decode_to_equal_frames_one_after_another()
    {
        var frames = new[]
        {
            WireSamples.HelloFrom("127.0.0.1:1"),
            WireSamples.BatchOf(WireSamples.Probe(1), WireSamples.Probe(2)),
            new Frame { Proof = new Proof { Proof_ = ByteString.CopyFrom(new byte[32]) } },
        };
        var bytes = frames.SelectMany(FrameCodec.Encode).ToArray();

        var offset = 0;
        foreach (var expected in frames)
        {
            Assert.Equal(DecodeStatus.Decoded, FrameCodec.TryDecode(bytes.AsSpan(offset), Max, out var frame, out var consumed, out _));
            Assert.Equal(expected, frame);
            offset += consumed;
        }

        Assert.Equal(bytes.Length, offset);
        Assert.Equal(DecodeStatus.NeedMore, FrameCodec.TryDecode(bytes.AsSpan(offset), Max, out _, out _, out _));
    }

    [Fact]
    public void Every_proper_prefix_of_a_frame_needs_more_bytes()
    {
        var bytes = FrameCodec.Encode(WireSamples.BatchOf(WireSamples.Probe(7)));
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Equal(DecodeStatus.NeedMore, FrameCodec.TryDecode(bytes.AsSpan(0, length), Max, out var frame, out var consumed, out _));
            Assert.Null(frame);
            Assert.Equal(0, consumed);
        }
    }

    [Theory]
    [InlineData(0u, RefusalReason.EmptyFrame)]
    [InlineData((uint)Max + 1, RefusalReason.OversizedFrame)]
    [InlineData(0xFFFFFFFFu, RefusalReason.OversizedFrame)]
    [InlineData(0x80000000u, RefusalReason.OversizedFrame)]
    public void A_length_of_zero_or_above_the_limit_is_refused_before_any_body_arrives(uint length, RefusalReason reason)
    {
        Assert.Equal(DecodeStatus.Invalid, FrameCodec.TryDecode(WireSamples.Prefix(length), Max, out _, out _, out var problem));
        Assert.Equal(reason, problem.Reason);
    }

    [Fact]
    public void The_limit_itself_is_allowed()
    {
        Assert.True(FrameCodec.TryReadLength(WireSamples.Prefix(Max), Max, out var length, out _));
        Assert.Equal(Max, length);
    }

    [Theory]
    [InlineData("FF")]
    [InlineData("0A")]
    [InlineData("0AFF")]
    [InlineData("FFFFFFFFFFFFFFFFFFFF01")]
    [InlineData("1205")]
    [InlineData("2A00")] // field 5 of Frame: no body this version knows
    public void Bytes_that_are_not_a_frame_with_a_known_body_are_malformed(string hex)
    {
        var body = Convert.FromHexString(hex);
        var bytes = WireSamples.Prefix((uint)body.Length).Concat(body).ToArray();
        Assert.Equal(DecodeStatus.Invalid, FrameCodec.TryDecode(bytes, Max, out var frame, out _, out var problem));
        Assert.Null(frame);
        Assert.Equal(RefusalReason.MalformedFrame, problem.Reason);
    }

    [Fact]
    public void Invalid_utf8_in_a_string_decodes_to_replacement_characters_instead_of_throwing()
    {
        // A Hello whose cluster id is the single byte 0x80: refused later as a wrong cluster id.
        Assert.Equal(DecodeStatus.Decoded, FrameCodec.TryDecode(Convert.FromHexString("000000050A03120180"), Max, out var frame, out _, out _));
        Assert.Equal("\uFFFD", frame!.Hello.ClusterId);
    }

    [Fact]
    public void A_frame_without_a_body_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => FrameCodec.Encode(new Frame()));
    }
}
