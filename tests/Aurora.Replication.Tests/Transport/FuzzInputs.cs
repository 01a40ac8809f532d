using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Aurora.Storage.Protos;
using Google.Protobuf;

namespace Aurora.Replication.Tests.Transport;

/// <summary>Random frames, bytes and mutations for the transport fuzzers; everything derives from the given <see cref="Random"/>.</summary>
internal static class FuzzInputs
{
    /// <summary>Fuzzed messages carry terms from here up, so they cannot be mistaken for a good peer's.</summary>
    public const ulong FuzzTerms = 1UL << 40;

    public static Random CaseRandom(int seed, int index) => new(unchecked((seed * 1_000_003) + index));

    public static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    public static string Text(Random random) => random.Next(6) switch
    {
        0 => string.Empty,
        1 => "127.0.0.1:" + random.Next(1, 65536),
        2 => "cluster-1",
        3 => new string((char)random.Next(0x20, 0x7F), random.Next(1, 40)),
        4 => "\u00e9\u4e2d\ud83d\ude00",
        _ => Convert.ToHexString(Bytes(random, random.Next(1, 20))),
    };

    public static PeerMessage Message(Random random)
    {
        var term = FuzzTerms + (ulong)random.Next(1_000_000);
        switch (random.Next(5))
        {
            case 0:
                return new PeerMessage { StatusProbe = new StatusProbe { Term = term, Status = (ReplicaStatus)random.Next(4) } };
            case 1:
                var append = new AppendRequest { Term = term, PrevPosition = (ulong)random.NextInt64(), LeaderCommit = (ulong)random.Next(), Round = (ulong)random.Next() };
                for (var i = random.Next(4); i > 0; i--)
                {
                    append.Entries.Add(new LogEntry { Position = (ulong)random.Next(), Term = term, Principal = Text(random) });
                }

                return new PeerMessage { AppendRequest = append };
            case 2:
                return new PeerMessage { VoteRequest = new VoteRequest { Term = term, PreVote = random.Next(2) == 0, LastPosition = (ulong)random.Next() } };
            case 3:
                return new PeerMessage { SnapshotChunk = new SnapshotChunk { Term = term, Data = ByteString.CopyFrom(Bytes(random, random.Next(random.Next(4) == 0 ? 2000 : 100))), BlobType = Text(random) } };
            default:
                return new PeerMessage { StatusReply = new StatusReply { Term = term, LeaderId = Text(random) } };
        }
    }

    public static Frame Batch(Random random)
    {
        var batch = new Batch();
        for (var i = random.Next(1, 20); i > 0; i--)
        {
            batch.Messages.Add(Message(random));
        }

        return new Frame { Batch = batch };
    }

    /// <summary>A handshake frame with random (mostly plausible) fields, made without the secret.</summary>
    public static Frame HandshakeFrame(Random random, string? claimedId = null)
    {
        ByteString Blob(int usual) => ByteString.CopyFrom(Bytes(random, random.Next(4) == 0 ? random.Next(70) : usual));
        return random.Next(3) switch
        {
            0 => new Frame
            {
                Hello = new Hello
                {
                    ProtocolVersion = random.Next(4) == 0 ? (uint)random.Next() : ReplicaTransport.ProtocolVersion,
                    ClusterId = random.Next(3) == 0 ? Text(random) : "cluster-1",
                    ReplicaId = claimedId ?? Text(random),
                    Nonce = Blob(HandshakeProof.NonceBytes),
                },
            },
            1 => new Frame { Challenge = new Challenge { ClusterId = Text(random), ReplicaId = claimedId ?? Text(random), Nonce = Blob(HandshakeProof.NonceBytes), Proof = Blob(HandshakeProof.ProofBytes) } },
            _ => new Frame { Proof = new Proof { Proof_ = Blob(HandshakeProof.ProofBytes) } },
        };
    }

    /// <summary>1 to 4 random edits: bit flips, overwritten, inserted, deleted or duplicated bytes, truncation, or a new length prefix.</summary>
    public static byte[] Mutate(Random random, byte[] bytes, int maxFrameBytes)
    {
        var list = new List<byte>(bytes);
        for (var edits = random.Next(1, 5); edits > 0; edits--)
        {
            var at = list.Count == 0 ? 0 : random.Next(list.Count);
            switch (random.Next(8))
            {
                case 0 when list.Count > 0:
                    list[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when list.Count > 0:
                    list[at] = (byte)random.Next(256);
                    break;
                case 2:
                    list.InsertRange(at, Bytes(random, random.Next(1, 8)));
                    break;
                case 3 when list.Count > 0:
                    list.RemoveRange(at, Math.Min(list.Count - at, random.Next(1, 8)));
                    break;
                case 4 when list.Count > 0:
                    list.RemoveRange(at, list.Count - at);
                    break;
                case 5 when list.Count > 0:
                    list.InsertRange(at, list.GetRange(at, Math.Min(list.Count - at, random.Next(1, 16))));
                    break;
                case 6 when list.Count >= 4:
                    var length = LengthPrefix(random, maxFrameBytes);
                    for (var i = 0; i < 4; i++)
                    {
                        list[i] = length[i];
                    }

                    break;
                default:
                    list.Add((byte)random.Next(256));
                    break;
            }
        }

        return [.. list];
    }

    /// <summary>A length prefix that is often hostile: zero, just above the limit, huge, or small.</summary>
    public static byte[] LengthPrefix(Random random, int maxFrameBytes)
    {
        uint length = random.Next(6) switch
        {
            0 => 0,
            1 => (uint)maxFrameBytes + 1,
            2 => uint.MaxValue - (uint)random.Next(1000),
            3 => (uint)random.Next(int.MaxValue),
            4 => (uint)maxFrameBytes,
            _ => (uint)random.Next(1, 64),
        };
        return WireSamples.Prefix(length);
    }

    /// <summary>Splits <paramref name="bytes"/> into random chunks: single bytes (for short streams), small pieces, or a few large ones.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Chunks(Random random, byte[] bytes)
    {
        var largest = random.Next(3) switch
        {
            0 when bytes.Length <= 512 => 1,
            1 => 16,
            _ => Math.Max(1, bytes.Length / 2),
        };
        var offset = 0;
        while (offset < bytes.Length)
        {
            var length = Math.Min(bytes.Length - offset, random.Next(1, largest + 1));
            yield return bytes.AsMemory(offset, length);
            offset += length;
        }
    }

    /// <summary>What the frame decoder makes of a whole buffer: the frames, then how it stopped.</summary>
    public static (List<Frame> Frames, DecodeStatus End, FrameProblem Problem, int Leftover) DecodeAll(ReadOnlySpan<byte> bytes, int maxFrameBytes)
    {
        var frames = new List<Frame>();
        var offset = 0;
        while (true)
        {
            var status = FrameCodec.TryDecode(bytes[offset..], maxFrameBytes, out var frame, out var consumed, out var problem);
            if (status != DecodeStatus.Decoded)
            {
                return (frames, status, problem, bytes.Length - offset);
            }

            frames.Add(frame!);
            offset += consumed;
        }
    }
}
