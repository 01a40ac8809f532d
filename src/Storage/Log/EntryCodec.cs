using System.Buffers;
using System.IO.Compression;
using Aurora.Storage.Protos;
using Google.Protobuf;

namespace Aurora.Storage.Log;

/// <summary>
/// Turns a <see cref="LogEntry"/> into records and back: protobuf bytes, optionally compressed,
/// split into chunks of at most <see cref="LogOptions.MaxEntrySize"/> bytes (Aurora's frames).
/// </summary>
/// <remarks>Stateless apart from its options; safe to share between threads.</remarks>
internal sealed class EntryCodec(CompressionCodec compression, int compressionMinBytes, int maxChunkSize)
{
    /// <summary>Appends the records of <paramref name="entry"/> to <paramref name="output"/>.</summary>
    public void Encode(LogEntry entry, ArrayBufferWriter<byte> output)
    {
        var raw = entry.ToByteArray();
        var (codec, bytes) = Compress(raw);
        var chunkCount = Math.Max(1, (bytes.Length + maxChunkSize - 1) / maxChunkSize);
        for (var index = 0; index < chunkCount; index++)
        {
            var start = index * maxChunkSize;
            var chunk = bytes.AsSpan(start, Math.Min(maxChunkSize, bytes.Length - start));
            var header = new RecordHeader(codec, chunk.Length, Crc32C.Compute(chunk), entry.Position, entry.Term, index, chunkCount);
            var destination = output.GetSpan(RecordHeader.Size + chunk.Length);
            header.Write(destination);
            chunk.CopyTo(destination[RecordHeader.Size..]);
            output.Advance(RecordHeader.Size + chunk.Length);
        }
    }

    /// <summary>The number of bytes <see cref="Encode"/> would produce, without compressing.</summary>
    public long UpperBound(int serializedSize) =>
        serializedSize + ((long)Math.Max(1, (serializedSize + maxChunkSize - 1) / maxChunkSize) * RecordHeader.Size);

    public static LogEntry Decode(CompressionCodec codec, ReadOnlySpan<byte> bytes) =>
        LogEntry.Parser.ParseFrom(codec == CompressionCodec.None ? bytes : Decompress(codec, bytes));

    private (CompressionCodec Codec, byte[] Bytes) Compress(byte[] raw)
    {
        if (compression == CompressionCodec.None || raw.Length < compressionMinBytes)
        {
            return (CompressionCodec.None, raw);
        }

        byte[] compressed;
        if (compression == CompressionCodec.Brotli)
        {
            var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(raw.Length)];
            if (!BrotliEncoder.TryCompress(raw, buffer, out var written, quality: 1, window: 22))
            {
                return (CompressionCodec.None, raw);
            }

            compressed = buffer[..written];
        }
        else
        {
            using var stream = new MemoryStream();
            using (var deflate = new DeflateStream(stream, CompressionLevel.Fastest, leaveOpen: true))
            {
                deflate.Write(raw);
            }

            compressed = stream.ToArray();
        }

        // Incompressible data is stored as it is: compression must never make an entry bigger.
        return compressed.Length < raw.Length ? (compression, compressed) : (CompressionCodec.None, raw);
    }

    private static byte[] Decompress(CompressionCodec codec, ReadOnlySpan<byte> bytes)
    {
        using var input = new MemoryStream(bytes.ToArray(), writable: false);
        using Stream decoder = codec switch
        {
            CompressionCodec.Deflate => new DeflateStream(input, CompressionMode.Decompress),
            CompressionCodec.Brotli => new BrotliStream(input, CompressionMode.Decompress),
            _ => throw new InvalidDataException($"unknown compression codec {codec}"),
        };
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }
}
