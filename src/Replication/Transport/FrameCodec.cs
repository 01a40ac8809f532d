using System.Buffers.Binary;
using Aurora.Replication.Protos;
using Google.Protobuf;

namespace Aurora.Replication.Transport;

/// <summary>What is wrong with a frame, for the log and the refusal counters.</summary>
internal readonly record struct FrameProblem(RefusalReason Reason, string Detail);

/// <summary>The outcome of <see cref="FrameCodec.TryDecode"/>.</summary>
internal enum DecodeStatus
{
    /// <summary>The buffer holds a prefix of a valid-looking frame: read more bytes.</summary>
    NeedMore,

    /// <summary>A frame was decoded from the start of the buffer.</summary>
    Decoded,

    /// <summary>The bytes can never become a valid frame: close the connection.</summary>
    Invalid,
}

/// <summary>
/// The replication wire format: a 4-byte big-endian length, then that many bytes of a protobuf
/// <see cref="Frame"/> (see docs/replication.md, "Transport").
/// </summary>
/// <remarks>
/// Pure functions over spans, no I/O: the socket code reads the 4-byte prefix, validates it with
/// <see cref="TryReadLength"/> before allocating anything, reads the body and parses it with
/// <see cref="TryParse"/>; <see cref="TryDecode"/> composes the two over a buffer (for tests and
/// fuzzing). Nothing here throws on hostile input; every problem comes back as a
/// <see cref="FrameProblem"/>. Thread-safe (stateless).
/// </remarks>
internal static class FrameCodec
{
    public const int LengthPrefixBytes = 4;

    /// <summary>The default frame size limit once a connection is authenticated.</summary>
    public const int DefaultMaxFrameBytes = 64 * 1024 * 1024;

    /// <summary>The size limit before the handshake completes: handshake frames are about a hundred bytes, and an unauthenticated party must not make us allocate more.</summary>
    public const int MaxHandshakeFrameBytes = 1024;

    /// <summary>The most a frame's and a batch's envelope add around one message: two tags and two 5-byte length varints.</summary>
    public const int MessageEnvelopeBytes = 12;

    /// <summary>The frame's bytes with their length prefix.</summary>
    /// <exception cref="ArgumentException">The frame has no body (it would encode to zero bytes, which the wire refuses).</exception>
    public static byte[] Encode(Frame frame)
    {
        var size = BodySize(frame);
        var bytes = new byte[LengthPrefixBytes + size];
        EncodeInto(frame, size, bytes);
        return bytes;
    }

    /// <summary>The size of the frame's protobuf body (without the prefix).</summary>
    public static int BodySize(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.BodyCase == Frame.BodyOneofCase.None)
        {
            throw new ArgumentException("a frame must carry a body", nameof(frame));
        }

        return frame.CalculateSize();
    }

    /// <summary>Writes the prefix and the body (<paramref name="bodySize"/> from <see cref="BodySize"/>) into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int EncodeInto(Frame frame, int bodySize, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32BigEndian(destination, bodySize);
        frame.WriteTo(destination.Slice(LengthPrefixBytes, bodySize));
        return LengthPrefixBytes + bodySize;
    }

    /// <summary>Validates a length prefix against <paramref name="maxFrameBytes"/>.</summary>
    public static bool TryReadLength(ReadOnlySpan<byte> prefix, int maxFrameBytes, out int length, out FrameProblem problem)
    {
        var announced = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        length = 0;
        if (announced == 0)
        {
            problem = new FrameProblem(RefusalReason.EmptyFrame, "a frame of length 0");
            return false;
        }

        if (announced > (uint)maxFrameBytes)
        {
            problem = new FrameProblem(RefusalReason.OversizedFrame, $"a frame of {announced} bytes, above the limit of {maxFrameBytes}");
            return false;
        }

        length = (int)announced;
        problem = default;
        return true;
    }

    /// <summary>Parses a frame body; refuses bytes that are not a <see cref="Frame"/> or carry no body this version knows.</summary>
    public static bool TryParse(ReadOnlySpan<byte> body, out Frame frame, out FrameProblem problem)
    {
        try
        {
            frame = Frame.Parser.ParseFrom(body);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or ArgumentException)
        {
            // ArgumentException: invalid UTF-8 in a string field (DecoderFallbackException).
            frame = null!;
            problem = new FrameProblem(RefusalReason.MalformedFrame, $"{body.Length} bytes that are not a frame ({e.Message})");
            return false;
        }

        if (frame.BodyCase == Frame.BodyOneofCase.None)
        {
            problem = new FrameProblem(RefusalReason.MalformedFrame, $"a frame of {body.Length} bytes without a known body");
            return false;
        }

        problem = default;
        return true;
    }

    /// <summary>Decodes one frame from the start of <paramref name="buffer"/>.</summary>
    /// <param name="consumed">Bytes used by the decoded frame (0 unless <see cref="DecodeStatus.Decoded"/>).</param>
    public static DecodeStatus TryDecode(ReadOnlySpan<byte> buffer, int maxFrameBytes, out Frame? frame, out int consumed, out FrameProblem problem)
    {
        frame = null;
        consumed = 0;
        problem = default;
        if (buffer.Length < LengthPrefixBytes)
        {
            return DecodeStatus.NeedMore;
        }

        if (!TryReadLength(buffer, maxFrameBytes, out var length, out problem))
        {
            return DecodeStatus.Invalid;
        }

        if (buffer.Length - LengthPrefixBytes < length)
        {
            return DecodeStatus.NeedMore;
        }

        if (!TryParse(buffer.Slice(LengthPrefixBytes, length), out var parsed, out problem))
        {
            return DecodeStatus.Invalid;
        }

        frame = parsed;
        consumed = LengthPrefixBytes + length;
        return DecodeStatus.Decoded;
    }
}
