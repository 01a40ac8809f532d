using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Google.Protobuf;

namespace Aurora.Replication.Tests.Transport;

/// <summary>The handshake state machines, fed frames by hand.</summary>
public sealed class HandshakeTests
{
    private const string Dialer = "10.0.0.1:7000";
    private const string Acceptor = "10.0.0.2:7000";
    private const string Cluster = "cluster-1";

    private static readonly byte[] DialerNonce = [.. Enumerable.Repeat((byte)1, 32)];
    private static readonly byte[] AcceptorNonce = [.. Enumerable.Repeat((byte)2, 32)];

    [Fact]
    public void Both_sides_complete_when_they_share_the_secret_and_the_cluster()
    {
        var (dialer, acceptor) = Pair();

        var challenge = acceptor.Receive(dialer.Hello());
        Assert.False(challenge.Completed);
        Assert.Null(challenge.Failure);
        Assert.Equal(Frame.BodyOneofCase.Challenge, challenge.Reply!.BodyCase);

        var proof = dialer.Receive(challenge.Reply);
        Assert.Equal(Acceptor, proof.PeerId);
        Assert.Equal(Frame.BodyOneofCase.Proof, proof.Reply!.BodyCase);

        var done = acceptor.Receive(proof.Reply);
        Assert.Equal(Dialer, done.PeerId);
        Assert.Null(done.Reply);
    }

    [Fact]
    public void The_dialer_refuses_an_acceptor_with_another_secret_before_proving_anything()
    {
        var (dialer, acceptor) = Pair(acceptorSecret: [.. WireSamples.Secret.Select(b => (byte)~b)]);
        var step = dialer.Receive(acceptor.Receive(dialer.Hello()).Reply!);
        Assert.Equal(RefusalReason.BadProof, step.Failure?.Reason);
        Assert.Null(step.Reply);
    }

    [Fact]
    public void The_acceptor_refuses_a_proof_made_with_another_secret()
    {
        var (dialer, acceptor) = Pair();
        var hello = dialer.Hello();
        var challenge = acceptor.Receive(hello).Reply!.Challenge;
        var forged = HandshakeProof.Compute(new byte[32], HandshakeProof.DialerLabel, DialerNonce, challenge.Nonce.Span, Cluster, Dialer, Acceptor);
        var step = acceptor.Receive(new Frame { Proof = new Proof { Proof_ = ByteString.CopyFrom(forged) } });
        Assert.Equal(RefusalReason.BadProof, step.Failure?.Reason);
        Assert.False(step.Completed);
    }

    [Fact]
    public void The_acceptors_own_proof_reflected_back_is_refused()
    {
        var (dialer, acceptor) = Pair();
        var challenge = acceptor.Receive(dialer.Hello()).Reply!.Challenge;
        var step = acceptor.Receive(new Frame { Proof = new Proof { Proof_ = challenge.Proof } });
        Assert.Equal(RefusalReason.BadProof, step.Failure?.Reason);
    }

    [Theory]
    [InlineData(2u, Cluster, Dialer, RefusalReason.WrongProtocolVersion)]
    [InlineData(0u, Cluster, Dialer, RefusalReason.WrongProtocolVersion)]
    [InlineData(1u, "cluster-2", Dialer, RefusalReason.WrongClusterId)]
    [InlineData(1u, Cluster, "10.0.0.9:7000", RefusalReason.UnknownReplica)]
    [InlineData(1u, Cluster, Acceptor, RefusalReason.SelfReplicaId)]
    public void The_acceptor_refuses_a_hello_of_another_version_cluster_or_replica(uint version, string cluster, string replicaId, RefusalReason reason)
    {
        var (_, acceptor) = Pair();
        var step = acceptor.Receive(WireSamples.HelloFrom(replicaId, version, cluster));
        Assert.Equal(reason, step.Failure?.Reason);
        Assert.Null(step.Reply);
    }

    [Fact]
    public void The_dialer_refuses_an_acceptor_that_is_not_the_replica_it_dialed()
    {
        var settings = new HandshakeSettings(1, Cluster, Acceptor, WireSamples.Secret);
        var dialer = new DialerHandshake(new HandshakeSettings(1, Cluster, Dialer, WireSamples.Secret), "10.0.0.3:7000", DialerNonce);
        var acceptor = new AcceptorHandshake(settings, id => id == Dialer, AcceptorNonce);
        var step = dialer.Receive(acceptor.Receive(dialer.Hello()).Reply!);
        Assert.Equal(RefusalReason.WrongReplicaId, step.Failure?.Reason);
    }

    [Fact]
    public void Nonces_of_the_wrong_length_are_refused()
    {
        var (_, acceptor) = Pair();
        var hello = WireSamples.HelloFrom(Dialer);
        hello.Hello.Nonce = ByteString.CopyFrom(new byte[31]);
        Assert.Equal(RefusalReason.MalformedHandshake, acceptor.Receive(hello).Failure?.Reason);
    }

    [Theory]
    [InlineData(Frame.BodyOneofCase.Batch)]
    [InlineData(Frame.BodyOneofCase.Proof)]
    [InlineData(Frame.BodyOneofCase.Challenge)]
    public void The_acceptor_refuses_anything_but_a_hello_first(Frame.BodyOneofCase body)
    {
        var (_, acceptor) = Pair();
        var frame = body switch
        {
            Frame.BodyOneofCase.Batch => WireSamples.BatchOf(WireSamples.Probe(1)),
            Frame.BodyOneofCase.Proof => new Frame { Proof = new Proof { Proof_ = ByteString.CopyFrom(new byte[32]) } },
            _ => new Frame { Challenge = new Challenge() },
        };
        Assert.Equal(RefusalReason.UnexpectedFrame, acceptor.Receive(frame).Failure?.Reason);
    }

    [Fact]
    public void A_state_machine_refuses_everything_once_it_is_done()
    {
        var (dialer, acceptor) = Pair();
        var hello = dialer.Hello();
        var challenge = acceptor.Receive(hello).Reply!;
        var proof = dialer.Receive(challenge).Reply!;
        Assert.True(acceptor.Receive(proof).Completed);

        Assert.Equal(RefusalReason.UnexpectedFrame, acceptor.Receive(hello).Failure?.Reason);
        Assert.Equal(RefusalReason.UnexpectedFrame, acceptor.Receive(proof).Failure?.Reason);
        Assert.Equal(RefusalReason.UnexpectedFrame, dialer.Receive(challenge).Failure?.Reason);
    }

    [Fact]
    public void The_proof_is_pinned_and_binds_every_field_with_length_prefixes()
    {
        var proof = HandshakeProof.Compute(WireSamples.Secret, HandshakeProof.AcceptorLabel, DialerNonce, AcceptorNonce, Cluster, Dialer, Acceptor);
        Assert.Equal(GoldenAcceptorProof, Convert.ToHexString(proof));

        // Moving a character from one field to its neighbour keeps the concatenation but not the transcript.
        Assert.NotEqual(
            HandshakeProof.Compute(WireSamples.Secret, HandshakeProof.AcceptorLabel, DialerNonce, AcceptorNonce, "ab", "c", Acceptor),
            HandshakeProof.Compute(WireSamples.Secret, HandshakeProof.AcceptorLabel, DialerNonce, AcceptorNonce, "a", "bc", Acceptor));
        Assert.NotEqual(
            HandshakeProof.Compute(WireSamples.Secret, HandshakeProof.AcceptorLabel, DialerNonce, AcceptorNonce, Cluster, Dialer, Acceptor),
            HandshakeProof.Compute(WireSamples.Secret, HandshakeProof.DialerLabel, DialerNonce, AcceptorNonce, Cluster, Dialer, Acceptor));
        Assert.NotEqual(
            HandshakeProof.Compute(WireSamples.Secret, HandshakeProof.AcceptorLabel, DialerNonce, AcceptorNonce, Cluster, Dialer, Acceptor),
            HandshakeProof.Compute(WireSamples.Secret, HandshakeProof.AcceptorLabel, AcceptorNonce, DialerNonce, Cluster, Dialer, Acceptor));
        Assert.Equal(
            "0000001B" + Convert.ToHexString("aurora-replication/acceptor"u8) + "00000020" + Convert.ToHexString(DialerNonce) + "00000020" + Convert.ToHexString(AcceptorNonce)
                + "00000009" + Convert.ToHexString("cluster-1"u8) + "0000000D" + Convert.ToHexString("10.0.0.1:7000"u8) + "0000000D" + Convert.ToHexString("10.0.0.2:7000"u8),
            Convert.ToHexString(HandshakeProof.Transcript(HandshakeProof.AcceptorLabel, DialerNonce, AcceptorNonce, Cluster, Dialer, Acceptor)));
    }

    [Fact]
    public void No_handshake_frame_carries_the_secret()
    {
        var (dialer, acceptor) = Pair();
        var hello = dialer.Hello();
        var challenge = acceptor.Receive(hello).Reply!;
        var proof = dialer.Receive(challenge).Reply!;
        foreach (var frame in new[] { hello, challenge, proof })
        {
            WireSamples.AssertNoSecretIn(FrameCodec.Encode(frame), WireSamples.Secret);
        }

        WireSamples.AssertNoSecretIn(proof.Proof.Proof_.ToByteArray(), WireSamples.Secret);
        WireSamples.AssertNoSecretIn(challenge.Challenge.Proof.ToByteArray(), WireSamples.Secret);
    }

    // Computed independently: python3 hmac.new(secret, transcript, hashlib.sha256) over the transcript above.
    private const string GoldenAcceptorProof = "0E919083C9CC987BC0E66D0B483243517AD595D1735ED70BB8C56ADF611E2734";

    private static (DialerHandshake Dialer, AcceptorHandshake Acceptor) Pair(byte[]? acceptorSecret = null) =>
        (new DialerHandshake(new HandshakeSettings(1, Cluster, Dialer, WireSamples.Secret), Acceptor, DialerNonce),
         new AcceptorHandshake(new HandshakeSettings(1, Cluster, Acceptor, acceptorSecret ?? WireSamples.Secret), id => id == Dialer, AcceptorNonce));
}
