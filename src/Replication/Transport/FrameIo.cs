using System.Buffers;
using Aurora.Replication.Protos;

namespace Aurora.Replication.Transport;

/// <summary>Reads and writes <see cref="FrameCodec"/> frames on a stream; the only socket-facing part of the wire format.</summary>
/// <remarks>
/// A read validates the length prefix before allocating the body, so a hostile prefix costs
/// nothing. One reader and one writer per stream at a time (a <see cref="System.Net.Sockets.NetworkStream"/>
/// allows the two to overlap).
/// </remarks>
internal static class FrameIo
{
    /// <summary>Bodies up to this size use pooled buffers; larger ones (rare: big snapshot chunks or batches) are allocated, so the pool never keeps them.</summary>
    private const int PooledBytes = 1024 * 1024;

    /// <summary>Reads one frame; null when the stream ends cleanly between frames.</summary>
    /// <param name="prefix">A 4-byte scratch buffer owned by the caller.</param>
    /// <exception cref="FrameException">The bytes are not an acceptable frame, or the stream ended inside one.</exception>
    public static async ValueTask<(Frame Frame, int Bytes)?> ReadAsync(Stream stream, byte[] prefix, int maxFrameBytes, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < FrameCodec.LengthPrefixBytes)
        {
            var got = await stream.ReadAsync(prefix.AsMemory(read, FrameCodec.LengthPrefixBytes - read), cancellationToken).ConfigureAwait(false);
            if (got == 0)
            {
                return read == 0
                    ? null
                    : throw new FrameException(new FrameProblem(RefusalReason.TruncatedFrame, $"the connection ended after {read} bytes of a length prefix"));
            }

            read += got;
        }

        if (!FrameCodec.TryReadLength(prefix, maxFrameBytes, out var length, out var problem))
        {
            throw new FrameException(problem);
        }

        var pooled = length <= PooledBytes;
        var body = pooled ? ArrayPool<byte>.Shared.Rent(length) : new byte[length];
        try
        {
            var got = await stream.ReadAtLeastAsync(body.AsMemory(0, length), length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (got < length)
            {
                throw new FrameException(new FrameProblem(RefusalReason.TruncatedFrame, $"the connection ended after {got} of the {length} bytes of a frame"));
            }

            return FrameCodec.TryParse(body.AsSpan(0, length), out var frame, out problem)
                ? (frame, FrameCodec.LengthPrefixBytes + length)
                : throw new FrameException(problem);
        }
        finally
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    /// <summary>Writes one frame; returns its size on the wire.</summary>
    public static async ValueTask<int> WriteAsync(Stream stream, Frame frame, CancellationToken cancellationToken)
    {
        var size = FrameCodec.BodySize(frame);
        var total = FrameCodec.LengthPrefixBytes + size;
        var pooled = total <= PooledBytes;
        var buffer = pooled ? ArrayPool<byte>.Shared.Rent(total) : new byte[total];
        try
        {
            FrameCodec.EncodeInto(frame, size, buffer);
            await stream.WriteAsync(buffer.AsMemory(0, total), cancellationToken).ConfigureAwait(false);
            return total;
        }
        finally
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
