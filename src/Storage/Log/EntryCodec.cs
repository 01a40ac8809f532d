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
    public void Encode(LogEntry entry, ArrayBufferWriter<byte> output) => output.Write(Encode([entry], stackalloc int[1]));

    /// <summary>
    /// Encodes <paramref name="entries"/> back to back into one array of records;
    /// <paramref name="entryOffsets"/>[i] receives where entry i's first record starts.
    /// </summary>
    /// <remarks>
    /// Entries that are stored as they are (the common case) are serialized straight into the
    /// result, so a 1 KiB entry costs one allocation and one pass of CRC.
    /// </remarks>
    public byte[] Encode(IReadOnlyList<LogEntry> entries, Span<int> entryOffsets)
    {
        var stored = new (CompressionCodec Codec, byte[]? Bytes, int Length)[entries.Count];
        long total = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var size = entries[i].CalculateSize();
            if ((compression != CompressionCodec.None && size >= compressionMinBytes) || size > maxChunkSize)
            {
                var (codec, bytes) = Compress(entries[i].ToByteArray());
                stored[i] = (codec, bytes, bytes.Length);
            }
            else
            {
                stored[i] = (CompressionCodec.None, null, size);
            }

            total += RecordsLength(stored[i].Length);
        }

        var output = new byte[checked((int)total)];
        var at = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var (codec, bytes, length) = stored[i];
            entryOffsets[i] = at;
            if (bytes is null)
            {
                var payload = output.AsSpan(at + RecordHeader.Size, length);
                entry.WriteTo(payload);
                new RecordHeader(codec, length, Crc32C.Compute(payload), entry.Position, entry.Term, 0, 1).Write(output.AsSpan(at), SegmentFormat.Version2);
                at += RecordHeader.Size + length;
                continue;
            }

            var chunkCount = Math.Max(1, (length + maxChunkSize - 1) / maxChunkSize);
            for (var index = 0; index < chunkCount; index++)
            {
                var start = index * maxChunkSize;
                var chunk = bytes.AsSpan(start, Math.Min(maxChunkSize, length - start));
                new RecordHeader(codec, chunk.Length, Crc32C.Compute(chunk), entry.Position, entry.Term, index, chunkCount).Write(output.AsSpan(at), SegmentFormat.Version2);
                chunk.CopyTo(output.AsSpan(at + RecordHeader.Size));
                at += RecordHeader.Size + chunk.Length;
            }
        }

        return output;
    }

    /// <summary>The bytes of the records that carry <paramref name="storedLength"/> bytes of (possibly compressed) entry.</summary>
    private long RecordsLength(int storedLength) =>
        storedLength + ((long)Math.Max(1, (storedLength + maxChunkSize - 1) / maxChunkSize) * RecordHeader.Size);

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
