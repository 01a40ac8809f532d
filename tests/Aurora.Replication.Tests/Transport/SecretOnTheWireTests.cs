using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Aurora.Replication.Protos;
using Aurora.Replication.Transport;

namespace Aurora.Replication.Tests.Transport;

/// <summary>Everything two replicas write to each other, captured by proxies between them, never holds the secret.</summary>
public sealed class SecretOnTheWireTests
{
    [Fact]
    public async Task The_secret_never_travels()
    {
        var secret = Enumerable.Range(0, 48).Select(i => (byte)(i * 73 + 11)).ToArray();
        await using var a = TestNode.Create(o => o with { Secret = secret });
        await using var b = TestNode.Create(o => o with { Secret = secret });
        await using var toA = new LoopbackProxy(a.Port, capture: true);
        await using var toB = new LoopbackProxy(b.Port, capture: true);

        // Each replica is known by its proxy's address, so every byte between them passes a proxy.
        var aId = TestNode.IdOf(toA.Port);
        var bId = TestNode.IdOf(toB.Port);
        a.Transport.Start(aId, [aId, bId]);
        b.Transport.Start(bId, [aId, bId]);
        await Eventually.HoldsAsync(
            "probes delivered both ways",
            () =>
            {
                // Sent until delivered: a message queued before the connection is up may be dropped.
                if (a.From(bId).Count == 0)
                {
                    b.Transport.Send(aId, WireSamples.Probe(1));
                }

                if (b.From(aId).Count == 0)
                {
                    a.Transport.Send(bId, WireSamples.Probe(2));
                }

                return a.From(bId).Count > 0 && b.From(aId).Count > 0;
            },
            TimeSpan.FromSeconds(30),
            a.Describe,
            TimeSpan.FromMilliseconds(20));

        await a.DisposeAsync();
        await b.DisposeAsync();
        var streams = toA.Captured.Concat(toB.Captured).ToList();

        // The capture saw the whole conversation: handshakes both ways and batches.
        var bodies = streams.SelectMany(Decode).Select(f => f.BodyCase).ToList();
        Assert.True(bodies.Count(c => c == Frame.BodyOneofCase.Hello) >= 2);
        Assert.True(bodies.Count(c => c == Frame.BodyOneofCase.Challenge) >= 2);
        Assert.True(bodies.Count(c => c == Frame.BodyOneofCase.Proof) >= 2);
        Assert.Contains(Frame.BodyOneofCase.Batch, bodies);
        foreach (var stream in streams)
        {
            WireSamples.AssertNoSecretIn(stream, secret);
        }
    }

    private static List<Frame> Decode(byte[] stream)
    {
        var frames = new List<Frame>();
        var offset = 0;
        while (FrameCodec.TryDecode(stream.AsSpan(offset), FrameCodec.DefaultMaxFrameBytes, out var frame, out var consumed, out _) == DecodeStatus.Decoded)
        {
            frames.Add(frame!);
            offset += consumed;
        }

        Assert.Equal(stream.Length, offset);
        return frames;
    }
}
