using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Benchmarks.Shared;

/// <summary>The entries the harness appends: 1 KiB of opaque payload, like a small scheduler transaction.</summary>
internal static class Payloads
{
    public const int DefaultPayloadBytes = 1024;

    /// <summary>Fixed bytes (seeded), so runs are comparable; incompressible, though compression is off anyway.</summary>
    public static Any Blob(int size, int seed = 42)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return new Any { TypeUrl = "type.aurora.dev/bench.Blob", Value = ByteString.CopyFrom(bytes) };
    }

    /// <summary>A new entry per append: the log takes ownership and fills in position and timestamp.</summary>
    public static LogEntry Entry(Any payload) => new() { Term = 1, Principal = "bench", Payload = payload };

    /// <summary>What an entry of <paramref name="payload"/> is on disk, for a harness's settings line.</summary>
    public static string Describe(Any payload) => $"log entry on disk: {RecordBytes(payload)} B (1 KiB payload + protobuf + record header)";

    /// <summary>Bytes one such entry occupies in a segment (record header + protobuf), at a typical position.</summary>
    public static int RecordBytes(Any payload)
    {
        var entry = Entry(payload);
        entry.Position = 1_000_000;
        entry.TimestampMicros = 1_763_000_000_000_000; // late 2025: same varint length as now
        return RecordHeader.Size + entry.CalculateSize();
    }
}
