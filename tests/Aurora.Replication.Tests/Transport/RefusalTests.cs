using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Google.Protobuf;

namespace Aurora.Replication.Tests.Transport;

/// <summary>
/// Replicas that must not talk (another secret, cluster, version or identity) and connections
/// that break the wire format: refused, counted, logged once per remote address, nothing delivered,
/// and the transport keeps serving its good peers.
/// </summary>
public sealed class RefusalTests
{
    private const int Attempts = 5;
    private static readonly TimeSpan CloseBound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Replicas_with_different_secrets_never_deliver_and_each_warns_once()
    {
        var nodes = TestNode.Mesh(2, (i, o) => i == 0 ? o : o with { Secret = [.. WireSamples.Secret.Select(b => (byte)(b + 1))] });
        await using var a = nodes[0];
        await using var b = nodes[1];

        await RefusedRepeatedlyAsync(a, b, a.Id, () => a.Refused(RefusalReason.BadProof) >= Attempts && a.Refused(RefusalReason.ClosedDuringHandshake) >= Attempts
            && b.Refused(RefusalReason.BadProof) >= Attempts && b.Refused(RefusalReason.ClosedDuringHandshake) >= Attempts);

        // Each dialer finds the acceptor's proof wrong before proving anything; each acceptor sees its dialer hang up.
        Assert.True(a.Refused(RefusalReason.BadProof) >= Attempts);
        Assert.True(a.Refused(RefusalReason.ClosedDuringHandshake) >= Attempts);
        Assert.Equal(1, a.Warnings(TestNode.OutboundRefused, RefusalReason.BadProof));
        Assert.Equal(1, a.Warnings(TestNode.InboundRefused, RefusalReason.ClosedDuringHandshake));
        Assert.Equal(1, b.Warnings(TestNode.OutboundRefused, RefusalReason.BadProof));
        Assert.Equal(1, b.Warnings(TestNode.InboundRefused, RefusalReason.ClosedDuringHandshake));
        Assert.True(a.Debugs(TestNode.OutboundRefused, RefusalReason.BadProof) >= Attempts - 1);
        Assert.Contains(a.Logs.Entries, e => e.EventId == TestNode.OutboundRefused && e.Message.Contains("BadProof", StringComparison.Ordinal) && e.Message.Contains("-replication_secret_file", StringComparison.Ordinal));
        Assert.Contains(a.Logs.Entries, e => e.EventId == TestNode.InboundRefused && e.Message.Contains("127.0.0.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Replicas_of_different_clusters_never_deliver_and_each_warns_once()
    {
        var nodes = TestNode.Mesh(2, (i, o) => i == 0 ? o : o with { ClusterId = "cluster-2" });
        await using var a = nodes[0];
        await using var b = nodes[1];

        await RefusedRepeatedlyAsync(a, b, a.Id, () => a.Refused(RefusalReason.WrongClusterId) >= Attempts && b.Refused(RefusalReason.WrongClusterId) >= Attempts);

        Assert.True(a.Refused(RefusalReason.WrongClusterId) >= Attempts);
        Assert.True(b.Refused(RefusalReason.WrongClusterId) >= Attempts);
        Assert.Equal(1, a.Warnings(TestNode.InboundRefused, RefusalReason.WrongClusterId));
        Assert.Equal(1, b.Warnings(TestNode.InboundRefused, RefusalReason.WrongClusterId));
        Assert.Contains(a.Logs.Entries, e => e.EventId == TestNode.InboundRefused && e.Message.Contains("cluster-2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Replicas_of_different_protocol_versions_never_deliver_and_each_warns_once()
    {
        var nodes = TestNode.Mesh(2, (i, o) => i == 0 ? o : o with { ProtocolVersion = ReplicaTransport.ProtocolVersion + 1 });
        await using var a = nodes[0];
        await using var b = nodes[1];

        await RefusedRepeatedlyAsync(a, b, a.Id, () => a.Refused(RefusalReason.WrongProtocolVersion) >= Attempts && b.Refused(RefusalReason.WrongProtocolVersion) >= Attempts);

        Assert.True(a.Refused(RefusalReason.WrongProtocolVersion) >= Attempts);
        Assert.True(b.Refused(RefusalReason.WrongProtocolVersion) >= Attempts);
        Assert.Equal(1, a.Warnings(TestNode.InboundRefused, RefusalReason.WrongProtocolVersion));
        Assert.Equal(1, b.Warnings(TestNode.InboundRefused, RefusalReason.WrongProtocolVersion));
    }

    [Fact]
    public async Task A_replica_that_names_itself_otherwise_is_refused_both_ways()
    {
        // b calls itself 127.0.0.2:9, which a does not know; a dials b's port and finds a replica of another name.
        await using var a = TestNode.Create();
        await using var b = TestNode.Create();
        a.Start(b);
        b.Transport.Start("127.0.0.2:9", [a.Id]);

        await RefusedRepeatedlyAsync(a, b, a.Id, () => a.Refused(RefusalReason.UnknownReplica) >= Attempts && a.Refused(RefusalReason.WrongReplicaId) >= Attempts);

        Assert.True(a.Refused(RefusalReason.UnknownReplica) >= Attempts);
        Assert.True(a.Refused(RefusalReason.WrongReplicaId) >= Attempts);
        Assert.Equal(1, a.Warnings(TestNode.InboundRefused, RefusalReason.UnknownReplica));
        Assert.Equal(1, a.Warnings(TestNode.OutboundRefused, RefusalReason.WrongReplicaId));
        Assert.Contains(a.Logs.Entries, e => e.EventId == TestNode.InboundRefused && e.Message.Contains("127.0.0.2:9", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("self", RefusalReason.SelfReplicaId)]
    [InlineData("10.9.9.9:1", RefusalReason.UnknownReplica)]
    public async Task A_dialer_claiming_this_replica_or_a_stranger_is_refused_and_warned_about_once(string claimed, RefusalReason reason)
    {
        await using var good = await GoodPairAsync();
        var a = good.A;
        var before = good.Refusals();
        var id = claimed == "self" ? a.Id : claimed;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            await using var client = await RawClient.ConnectAsync(a.Port);
            await client.SendAsync(WireSamples.HelloFrom(id));
            Assert.True(await client.ClosedWithinAsync(CloseBound));
        }

        await good.StillServingAsync();
        Assert.Equal(Attempts, good.Refusals(before, reason));
        Assert.Equal(1, a.Warnings(TestNode.InboundRefused, reason));
        Assert.Equal(Attempts - 1, a.Debugs(TestNode.InboundRefused, reason));
        Assert.DoesNotContain(a.Received, r => r.From != good.B.Id);
    }

    [Fact]
    public async Task A_dialer_with_a_forged_proof_is_refused_and_nothing_it_sends_is_delivered()
    {
        await using var good = await GoodPairAsync();
        var a = good.A;
        var before = good.Refusals();
        await using var client = await RawClient.ConnectAsync(a.Port);
        await client.SendAsync(WireSamples.HelloFrom(good.C));
        Assert.Equal(Frame.BodyOneofCase.Challenge, (await client.ReadFrameAsync())!.BodyCase);
        await client.SendAsync(FrameCodec.Encode(new Frame { Proof = new Proof { Proof_ = ByteString.CopyFrom(new byte[32]) } })
            .Concat(FrameCodec.Encode(WireSamples.BatchOf(WireSamples.Probe(666)))).ToArray());

        Assert.True(await client.ClosedWithinAsync(CloseBound));
        await good.StillServingAsync();
        Assert.Equal(1, good.Refusals(before, RefusalReason.BadProof));
        Assert.DoesNotContain(a.Received, r => r.From != good.B.Id);
    }

    [Fact]
    public async Task A_silent_connection_is_closed_after_the_handshake_timeout()
    {
        await using var good = await GoodPairAsync(o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        var before = good.Refusals();
        await using var client = await RawClient.ConnectAsync(good.A.Port);
        await client.SendAsync(WireSamples.Prefix(10)); // a frame that never comes

        Assert.True(await client.ClosedWithinAsync(CloseBound));
        Assert.Equal(1, good.Refusals(before, RefusalReason.HandshakeTimeout));
        await good.StillServingAsync();
    }

    public static TheoryData<string, RefusalReason> BadStreams => new()
    {
        { "oversized", RefusalReason.OversizedFrame },
        { "oversized-for-a-handshake", RefusalReason.OversizedFrame },
        { "zero", RefusalReason.EmptyFrame },
        { "truncated-prefix", RefusalReason.TruncatedFrame },
        { "truncated-body", RefusalReason.TruncatedFrame },
        { "garbage", RefusalReason.MalformedFrame },
        { "batch-before-handshake", RefusalReason.UnexpectedFrame },
        { "proof-before-hello", RefusalReason.UnexpectedFrame },
        { "hello-twice", RefusalReason.UnexpectedFrame },
    };

    [Theory]
    [MemberData(nameof(BadStreams))]
    public async Task A_connection_that_breaks_the_wire_format_before_the_handshake_is_closed(string stream, RefusalReason reason)
    {
        await using var good = await GoodPairAsync();
        var before = good.Refusals();
        await using var client = await RawClient.ConnectAsync(good.A.Port);
        var probe = FrameCodec.Encode(WireSamples.BatchOf(WireSamples.Probe(666)));
        switch (stream)
        {
            case "oversized":
                await client.SendAsync(WireSamples.Prefix(uint.MaxValue));
                break;
            case "oversized-for-a-handshake":
                // Within the frame limit, but an unauthenticated dialer gets 1 KiB.
                await client.SendAsync([.. WireSamples.Prefix(2000), .. new byte[2000]]);
                break;
            case "zero":
                await client.SendAsync(WireSamples.Prefix(0));
                break;
            case "truncated-prefix":
                await client.SendAsync([0, 0]);
                client.ShutdownSend();
                break;
            case "truncated-body":
                await client.SendAsync(FrameCodec.Encode(WireSamples.HelloFrom(good.C))[..^3]);
                client.ShutdownSend();
                break;
            case "garbage":
                await client.SendAsync([0, 0, 0, 8, .. Enumerable.Repeat((byte)0xFF, 8)]);
                break;
            case "batch-before-handshake":
                await client.SendAsync(probe);
                break;
            case "proof-before-hello":
                await client.SendAsync(new Frame { Proof = new Proof { Proof_ = ByteString.CopyFrom(new byte[32]) } });
                break;
            case "hello-twice":
                await client.SendAsync(WireSamples.HelloFrom(good.C));
                Assert.NotNull(await client.ReadFrameAsync());
                await client.SendAsync(WireSamples.HelloFrom(good.C));
                break;
        }

        Assert.True(await client.ClosedWithinAsync(CloseBound));
        await good.StillServingAsync();
        Assert.Equal(1, good.Refusals(before, reason));
        Assert.Equal(1, good.A.RefusedTotal - before.Values.Sum());
        Assert.DoesNotContain(good.A.Received, r => r.From != good.B.Id);
    }

    [Theory]
    [InlineData("oversized", RefusalReason.OversizedFrame)]
    [InlineData("zero", RefusalReason.EmptyFrame)]
    [InlineData("truncated", RefusalReason.TruncatedFrame)]
    [InlineData("garbage", RefusalReason.MalformedFrame)]
    [InlineData("hello-after-handshake", RefusalReason.UnexpectedFrame)]
    [InlineData("proof-after-handshake", RefusalReason.UnexpectedFrame)]
    public async Task An_authenticated_connection_that_breaks_the_wire_format_is_closed_after_delivering_what_came_before(string stream, RefusalReason reason)
    {
        await using var good = await GoodPairAsync(o => o with { MaxFrameBytes = 64 * 1024 });
        var before = good.Refusals();
        await using var client = await RawClient.ConnectAsync(good.A.Port);
        await client.HandshakeAsync(good.C, good.A.Id);
        await client.SendAsync(WireSamples.BatchOf(WireSamples.Probe(1), WireSamples.Probe(2)));
        byte[] bad = stream switch
        {
            "oversized" => WireSamples.Prefix(64 * 1024 + 1),
            "zero" => WireSamples.Prefix(0),
            "truncated" => FrameCodec.Encode(WireSamples.BatchOf(WireSamples.Probe(3)))[..^1],
            "garbage" => [0, 0, 0, 3, 0xFF, 0xFF, 0xFF],
            "hello-after-handshake" => FrameCodec.Encode(WireSamples.HelloFrom(good.C)),
            _ => FrameCodec.Encode(new Frame { Proof = new Proof { Proof_ = ByteString.CopyFrom(new byte[32]) } }),
        };
        if (stream == "truncated")
        {
            await client.SendAsync(bad);
            client.ShutdownSend();
        }
        else
        {
            await client.SendAsync([.. bad, .. FrameCodec.Encode(WireSamples.BatchOf(WireSamples.Probe(4)))]);
        }

        Assert.True(await client.ClosedWithinAsync(CloseBound));
        await good.StillServingAsync();
        Assert.Equal(1, good.Refusals(before, reason));
        Assert.Equal([1UL, 2UL], good.A.From(good.C).Select(m => m.StatusProbe.Term));
        Assert.False(good.A.Peer(good.C).InboundConnected);
    }

    /// <summary>Waits for <see cref="Attempts"/> refused handshakes both ways while both keep sending, then checks that nothing was delivered.</summary>
    private static async Task RefusedRepeatedlyAsync(TestNode a, TestNode b, string aId, Func<bool> enough)
    {
        ulong term = 0;
        await Eventually.HoldsAsync(
            $"{Attempts} refused handshakes each way",
            () =>
            {
                a.Transport.Send(b.Id, WireSamples.Probe(++term));
                b.Transport.Send(aId, WireSamples.Probe(++term));
                return enough();
            },
            TimeSpan.FromSeconds(60),
            () => a.Describe() + "\n---\n" + b.Describe(),
            TimeSpan.FromMilliseconds(10));

        Assert.Empty(a.Received);
        Assert.Empty(b.Received);
        Assert.False(a.Peer(b.Id).Connected);
        Assert.False(a.Peer(b.Id).InboundConnected);
        Assert.False(b.Peer(aId).Connected);
        Assert.Equal(0, a.Peer(b.Id).MessagesSent);
        Assert.Equal(0, b.Peer(aId).MessagesSent);
        Assert.True(a.Peer(b.Id).MessagesDropped > 0);
        Assert.NotNull(a.Peer(b.Id).LastError);
    }

    /// <summary>Two good replicas a and b, exchanging; a also knows a third peer, C, that never runs (raw clients may claim it).</summary>
    /// <param name="more">More peers of a that never run.</param>
    internal static async Task<GoodPair> GoodPairAsync(Func<ReplicaTransportOptions, ReplicaTransportOptions>? configure = null, IEnumerable<string>? more = null)
    {
        var a = TestNode.Create(configure);
        var b = TestNode.Create();
        const string C = "127.0.0.1:1";
        a.Transport.Start(a.Id, [a.Id, b.Id, C, .. more ?? []]);
        b.Start(a);
        var pair = new GoodPair(a, b, C);
        await pair.StillServingAsync();
        return pair;
    }

    internal sealed class GoodPair(TestNode a, TestNode b, string c) : IAsyncDisposable
    {
        private ulong _term = 1_000_000;

        public TestNode A { get; } = a;

        public TestNode B { get; } = b;

        /// <summary>A peer of A that never runs.</summary>
        public string C { get; } = c;

        /// <summary>A's refusals so far (a good peer's handshake may have been refused too on a slow machine).</summary>
        public IReadOnlyDictionary<RefusalReason, long> Refusals() => A.Transport.GetStatus().Refused;

        /// <summary>A's refusals for <paramref name="reason"/> since <paramref name="before"/>.</summary>
        public long Refusals(IReadOnlyDictionary<RefusalReason, long> before, RefusalReason reason) =>
            A.Refused(reason) - before.GetValueOrDefault(reason);

        public async Task StillServingAsync()
        {
            await TestNode.ExchangeAsync(A, B, ++_term);
            await TestNode.ExchangeAsync(B, A, ++_term);
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
        }
    }
}
