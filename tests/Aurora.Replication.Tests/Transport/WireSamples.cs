using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Google.Protobuf;

namespace Aurora.Replication.Tests.Transport;

/// <summary>Frames, prefixes and the test secret shared by the transport tests.</summary>
internal static class WireSamples
{
    public static readonly byte[] Secret = [.. Enumerable.Range(0, 32).Select(i => (byte)(0xA0 ^ (i * 37)))];

    public static PeerMessage Probe(ulong term) => new() { StatusProbe = new StatusProbe { Term = term } };

    public static byte[] Prefix(uint length) => [(byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length];

    public static Frame BatchOf(params PeerMessage[] messages)
    {
        var batch = new Batch();
        batch.Messages.Add(messages);
        return new Frame { Batch = batch };
    }

    public static Frame HelloFrom(string replicaId, uint version = 1, string cluster = "cluster-1") =>
        new() { Hello = new Hello { ProtocolVersion = version, ClusterId = cluster, ReplicaId = replicaId, Nonce = ByteString.CopyFrom(new byte[HandshakeProof.NonceBytes]) } };

    /// <summary>Fails if <paramref name="bytes"/> holds any 8 consecutive bytes of <paramref name="secret"/>.</summary>
    public static void AssertNoSecretIn(ReadOnlySpan<byte> bytes, byte[] secret)
    {
        for (var start = 0; start + 8 <= secret.Length; start++)
        {
            Assert.True(bytes.IndexOf(secret.AsSpan(start, 8)) < 0, $"bytes {start}..{start + 7} of the secret are on the wire");
        }
    }
}
