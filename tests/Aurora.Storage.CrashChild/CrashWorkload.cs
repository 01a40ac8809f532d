using System.Buffers.Binary;
using System.Security.Cryptography;
using Aurora.Storage.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.CrashChild;

/// <summary>Who wrote an entry: enough to regenerate its payload exactly.</summary>
public readonly record struct EntryIdentity(int Seed, int Round, int Writer, long Sequence);

/// <summary>
/// The entries the crash child appends. Every payload is a pure function of (seed, round, writer,
/// sequence) and carries that identity in its first bytes, so a verifier can check any entry it
/// finds in the log, acknowledged or not, without a copy of what was written.
/// </summary>
public static class CrashWorkload
{
    public const string TypeUrl = "type.aurora.test/crash-entry";

    private const uint Magic = 0xA0C0_1057;

    // magic u32, seed i32, round i32, writer i32, sequence i64, body length i32
    private const int HeaderSize = 28;

    public static string Principal(int writer) => $"crash-writer-{writer}";

    /// <summary>The entry for <paramref name="id"/>; its term is the round, so terms never decrease across restarts.</summary>
    public static LogEntry Entry(EntryIdentity id, int maxEntrySize) => new()
    {
        Term = (ulong)id.Round,
        Principal = Principal(id.Writer),
        Payload = new Any { TypeUrl = TypeUrl, Value = ByteString.CopyFrom(Payload(id, BodyLength(id, maxEntrySize))) },
    };

    /// <summary>How many entries a writer appends in one call, starting with <paramref name="first"/>.</summary>
    public static int BatchSize(EntryIdentity first) => (new SplitMix64(Mix(first, 3)).Next() % 5) switch
    {
        3 => 2,
        4 => 3,
        _ => 1,
    };

    /// <summary>A short digest of the whole stored entry (position, term, timestamp, principal, payload).</summary>
    public static string Digest(LogEntry entry) => Convert.ToHexStringLower(SHA256.HashData(entry.ToByteArray()).AsSpan(0, 8));

    /// <summary>
    /// Reads the identity an entry claims and checks that every byte of it is what that identity
    /// generates; false, with the reason, for anything this workload did not write.
    /// </summary>
    public static bool TryIdentify(LogEntry entry, out EntryIdentity id, out string problem)
    {
        id = default;
        if (entry.Payload is not { TypeUrl: TypeUrl } payload)
        {
            problem = $"payload type is {entry.Payload?.TypeUrl ?? "missing"}";
            return false;
        }

        var bytes = payload.Value.Span;
        if (bytes.Length < HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            problem = $"payload of {bytes.Length} bytes has no workload header";
            return false;
        }

        id = new EntryIdentity(
            BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]));
        var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[24..]);
        if (bodyLength != bytes.Length - HeaderSize)
        {
            problem = $"{id}: header says {bodyLength} body bytes, the payload has {bytes.Length - HeaderSize}";
            return false;
        }

        if (!bytes.SequenceEqual(Payload(id, bodyLength)))
        {
            problem = $"{id}: payload bytes differ from the ones this identity generates";
            return false;
        }

        if (entry.Term != (ulong)id.Round || entry.Principal != Principal(id.Writer))
        {
            problem = $"{id}: term {entry.Term} / principal {entry.Principal} do not match round and writer";
            return false;
        }

        problem = string.Empty;
        return true;
    }

    private static byte[] Payload(EntryIdentity id, int bodyLength)
    {
        var bytes = new byte[HeaderSize + bodyLength];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), id.Seed);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), id.Round);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), id.Writer);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), id.Sequence);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(24), bodyLength);
        var random = new SplitMix64(Mix(id, 2));

        // Half the bodies repeat a short pattern so that compression, when on, really applies.
        var compressible = random.Next() % 2 == 0;
        Span<byte> pattern = stackalloc byte[8];
        Span<byte> next = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(pattern, random.Next());
        for (var i = HeaderSize; i < bytes.Length; i += 8)
        {
            var block = bytes.AsSpan(i, Math.Min(8, bytes.Length - i));
            if (compressible)
            {
                pattern[..block.Length].CopyTo(block);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(next, random.Next());
                next[..block.Length].CopyTo(block);
            }
        }

        return bytes;
    }

    // Mostly small entries; one in twenty is larger than a chunk, so chunked entries get torn too.
    private static int BodyLength(EntryIdentity id, int maxEntrySize)
    {
        var random = new SplitMix64(Mix(id, 1));
        return random.Next() % 20 == 0
            ? maxEntrySize + 1 + (int)(random.Next() % (ulong)(3 * maxEntrySize))
            : (int)(random.Next() % 1200);
    }

    private static ulong Mix(EntryIdentity id, int salt)
    {
        var random = new SplitMix64((ulong)(uint)id.Seed);
        var state = random.Next() ^ (ulong)(uint)id.Round;
        state = new SplitMix64(state).Next() ^ (ulong)(uint)id.Writer;
        state = new SplitMix64(state).Next() ^ (ulong)id.Sequence;
        return new SplitMix64(state).Next() ^ (ulong)(uint)salt;
    }

    /// <summary>SplitMix64: tiny, fast, and the same sequence on every runtime, unlike <see cref="Random"/>.</summary>
    private sealed class SplitMix64(ulong state)
    {
        private ulong _state = state;

        public ulong Next()
        {
            _state += 0x9E3779B97F4A7C15;
            var z = _state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            return z ^ (z >> 31);
        }
    }
}
