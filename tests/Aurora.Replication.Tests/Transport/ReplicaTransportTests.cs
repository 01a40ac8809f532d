using System.Net;
using System.Net.Sockets;
using Aurora.Replication.Protos;
using Aurora.Replication.Transport;

namespace Aurora.Replication.Tests.Transport;

/// <summary>Transports on loopback talking to each other.</summary>
public sealed class ReplicaTransportTests
{
    [Fact]
    public async Task Two_transports_exchange_batches_both_ways()
    {
        var nodes = TestNode.Mesh(2);
        await using var a = nodes[0];
        await using var b = nodes[1];

        await TestNode.ExchangeAsync(a, b, 1);
        await TestNode.ExchangeAsync(b, a, 2);

        Assert.All(b.Received, r => Assert.Equal(a.Id, r.From));
        Assert.All(a.Received, r => Assert.Equal(b.Id, r.From));
        var status = a.Transport.GetStatus();
        Assert.Equal(a.Id, status.ReplicaId);
        Assert.Equal(a.Port, status.LocalPort);
        var peer = Assert.Single(status.Peers);
        Assert.Equal(b.Id, peer.PeerId);
        Assert.True(peer.Connected);
        Assert.True(peer.InboundConnected);
        Assert.True(peer.FramesSent > 0 && peer.MessagesSent >= peer.FramesSent && peer.BytesSent > peer.FramesSent * 4);
        Assert.True(peer.FramesReceived > 0 && peer.MessagesReceived >= peer.FramesReceived && peer.BytesReceived > peer.FramesReceived * 4);
        Assert.Empty(status.Refused);
    }

    [Fact]
    public async Task Three_transports_reach_every_peer_and_know_who_sent_what()
    {
        var nodes = TestNode.Mesh(3);
        await using var a = nodes[0];
        await using var b = nodes[1];
        await using var c = nodes[2];

        ulong term = 0;
        foreach (var from in nodes)
        {
            foreach (var to in nodes.Where(n => n != from))
            {
                await TestNode.ExchangeAsync(from, to, ++term);
            }
        }

        foreach (var node in nodes)
        {
            Assert.Equal(2, node.Transport.GetStatus().Peers.Count(p => p.Connected && p.InboundConnected));
            Assert.DoesNotContain(node.Received, r => r.From == node.Id);
        }

        // Each probe reached only the node it was sent to, from the node that sent it.
        term = 0;
        foreach (var from in nodes)
        {
            foreach (var to in nodes.Where(n => n != from))
            {
                var sent = ++term;
                Assert.Contains(to.From(from.Id), m => m.StatusProbe.Term == sent);
                Assert.All(nodes.Where(n => n != to), n => Assert.DoesNotContain(n.Received, r => r.Message.StatusProbe.Term == sent));
            }
        }
    }

    [Fact]
    public async Task Many_messages_sent_at_once_arrive_in_order_in_fewer_frames()
    {
        const int Count = 20_000;
        var nodes = TestNode.Mesh(2);
        await using var a = nodes[0];
        await using var b = nodes[1];
        await TestNode.ConnectedAsync(a, b);

        for (ulong term = 1; term <= Count; term++)
        {
            Assert.True(a.Transport.Send(b.Id, WireSamples.Probe(term)));
        }

        await Eventually.HoldsAsync($"{Count} messages at b", () => b.Received.Count == Count, TimeSpan.FromSeconds(60), a.Describe, TimeSpan.FromMilliseconds(20));
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (ulong)i), b.Received.Select(r => r.Message.StatusProbe.Term));
        var sent = a.Peer(b.Id);
        var received = b.Peer(a.Id);
        Assert.Equal(Count, sent.MessagesSent);
        Assert.Equal(Count, received.MessagesReceived);
        Assert.Equal(sent.FramesSent, received.FramesReceived);
        Assert.Equal(sent.BytesSent, received.BytesReceived);
        Assert.True(sent.FramesSent < Count / 10, $"{sent.FramesSent} frames for {Count} messages: not batched");
        Assert.Equal(0, sent.MessagesDropped);
        Assert.Equal(0, sent.QueuedBytes);
    }

    [Fact]
    public async Task A_message_as_large_as_a_frame_allows_goes_alone_and_a_larger_one_is_dropped()
    {
        const int MaxFrame = 64 * 1024;
        var nodes = TestNode.Mesh(2, (_, o) => o with { MaxFrameBytes = MaxFrame, BatchTargetBytes = 1024 });
        await using var a = nodes[0];
        await using var b = nodes[1];
        await TestNode.ConnectedAsync(a, b);

        static PeerMessage Chunk(int bytes, ulong term) => new() { SnapshotChunk = new SnapshotChunk { Term = term, Data = Google.Protobuf.ByteString.CopyFrom(new byte[bytes]) } };
        var largest = MaxFrame - FrameCodec.MessageEnvelopeBytes;
        var fits = Chunk(largest - 10, 1);
        Assert.InRange(fits.CalculateSize(), largest - 4, largest);
        var grown = Chunk(largest - 10 + (largest - fits.CalculateSize()) + 1, 2);
        Assert.Equal(largest + 1, grown.CalculateSize());

        Assert.True(a.Transport.Send(b.Id, WireSamples.Probe(1)));
        Assert.True(a.Transport.Send(b.Id, fits));
        Assert.False(a.Transport.Send(b.Id, grown));
        Assert.True(a.Transport.Send(b.Id, WireSamples.Probe(3)));

        await Eventually.HoldsAsync("3 messages at b", () => b.Received.Count == 3, TimeSpan.FromSeconds(30), a.Describe, TimeSpan.FromMilliseconds(20));
        Assert.Equal([1UL, 1UL, 3UL], b.Received.Select(r => r.Message.StatusProbe?.Term ?? r.Message.SnapshotChunk.Term));
        Assert.Equal(1, a.Peer(b.Id).MessagesDropped);
        Assert.Equal(1, a.Logs.Count(5106));
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_instead_of_blocking_and_warns_once_per_interval()
    {
        // b is bound but not started: a cannot complete a handshake, so its queue fills.
        await using var b = TestNode.Create();
        await using var a = TestNode.Create(o => o with { MaxQueuedBytesPerPeer = 1000, DropLogInterval = TimeSpan.FromHours(1) });
        a.Start(b);

        var accepted = 0;
        for (ulong term = 1; term <= 1000; term++)
        {
            accepted += a.Transport.Send(b.Id, WireSamples.Probe(term)) ? 1 : 0;
        }

        Assert.InRange(accepted, 1000 / WireSamples.Probe(1000).CalculateSize(), 1000 / WireSamples.Probe(1).CalculateSize());
        Assert.True(a.Peer(b.Id).MessagesDropped >= 1000 - accepted);
        Assert.Equal(1, a.Logs.Count(5106));
    }

    [Fact]
    public async Task A_peer_that_comes_up_later_is_reached()
    {
        // b's listener is bound (its port is its id) but it knows no membership yet: a's handshakes time out.
        await using var b = TestNode.Create();
        await using var a = TestNode.Create(o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        a.Start(b);
        await Eventually.HoldsAsync("a's handshake with a silent b timed out", () => a.Refused(RefusalReason.HandshakeTimeout) > 0, TimeSpan.FromSeconds(30), a.Describe);
        Assert.False(a.Peer(b.Id).Connected);

        b.Start(a);
        await TestNode.ExchangeAsync(a, b, 1);
        await TestNode.ExchangeAsync(b, a, 2);
    }

    [Fact]
    public async Task A_peer_that_is_down_is_reached_once_it_listens()
    {
        int port;
        using (var reserved = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            reserved.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)reserved.LocalEndPoint!).Port;
        }

        await using var a = TestNode.Create();
        a.Transport.Start(a.Id, [a.Id, TestNode.IdOf(port)]);
        await Eventually.HoldsAsync("a failed to dial the absent peer", () => a.Peer(TestNode.IdOf(port)).LastError is not null, TimeSpan.FromSeconds(30), a.Describe);

        await using var b = TestNode.Create(port: port);
        b.Start(a);
        await TestNode.ExchangeAsync(a, b, 1);
        await TestNode.ExchangeAsync(b, a, 2);
        Assert.Equal(1, a.Logs.Entries.Count(e => e.EventId == 5104 && e.Level == Microsoft.Extensions.Logging.LogLevel.Information));
    }

    [Fact]
    public async Task A_restarted_peer_is_reconnected()
    {
        var nodes = TestNode.Mesh(2);
        await using var a = nodes[0];
        var b = nodes[1];
        await TestNode.ExchangeAsync(a, b, 1);
        await TestNode.ExchangeAsync(b, a, 2);
        var port = b.Port;

        await b.DisposeAsync();
        await Eventually.HoldsAsync("a saw b go", () => !a.Peer(b.Id).Connected && !a.Peer(b.Id).InboundConnected, TimeSpan.FromSeconds(30), a.Describe, TimeSpan.FromMilliseconds(10));

        await using var restarted = TestNode.Create(port: port);
        restarted.Start(a);
        await TestNode.ExchangeAsync(a, restarted, 3);
        await TestNode.ExchangeAsync(restarted, a, 4);
        Assert.True(a.Peer(restarted.Id).Connects >= 2);
        Assert.DoesNotContain(a.Transport.GetStatus().Refused, r => r.Key is not RefusalReason.ClosedDuringHandshake);
    }

    [Fact]
    public async Task Dispose_closes_every_connection_and_stops_delivering()
    {
        var nodes = TestNode.Mesh(3);
        await using var b = nodes[1];
        await using var c = nodes[2];
        var a = nodes[0];
        await TestNode.ExchangeAsync(a, b, 1);
        await TestNode.ExchangeAsync(b, a, 2);
        await TestNode.ExchangeAsync(c, a, 3);

        await a.DisposeAsync();
        await a.Transport.DisposeAsync(); // idempotent

        var delivered = a.Received.Count;
        await Eventually.HoldsAsync("b and c saw a close", () => !b.Peer(a.Id).Connected && !b.Peer(a.Id).InboundConnected && !c.Peer(a.Id).Connected, TimeSpan.FromSeconds(30), b.Describe, TimeSpan.FromMilliseconds(10));
        Assert.False(a.Transport.Send(b.Id, WireSamples.Probe(9)));
        await Assert.ThrowsAsync<SocketException>(async () =>
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await probe.ConnectAsync(IPAddress.Loopback, a.Port);
        });
        b.Transport.Send(a.Id, WireSamples.Probe(10));
        Assert.Equal(delivered, a.Received.Count);
    }

    [Fact]
    public async Task Membership_is_checked_when_given()
    {
        await using var a = TestNode.Create();
        Assert.Throws<InvalidOperationException>(() => a.Transport.Send("127.0.0.1:1", WireSamples.Probe(1)));
        Assert.Throws<ArgumentException>(() => a.Transport.Start("no-port", []));
        Assert.Throws<ArgumentException>(() => a.Transport.Start(a.Id, ["127.0.0.1:70000"]));
        a.Transport.Start(a.Id, [a.Id, "[::1]:5000", "localhost:5001"]);
        Assert.Equal(["[::1]:5000", "localhost:5001"], a.Transport.GetStatus().Peers.Select(p => p.PeerId));
        Assert.Throws<InvalidOperationException>(() => a.Transport.Start(a.Id, []));
        Assert.Throws<ArgumentException>(() => a.Transport.Send(a.Id, WireSamples.Probe(1)));
        Assert.Throws<ArgumentException>(() => new ReplicaTransport(TestNode.DefaultOptions() with { Secret = new byte[15] }, (_, _) => { }));
    }
}
