using Aurora.Replication.Protos;
using Google.Protobuf;

namespace Aurora.Replication.Transport;

/// <summary>What both sides of a handshake know: the protocol version, the cluster, who they are and the shared secret.</summary>
internal sealed record HandshakeSettings(uint ProtocolVersion, string ClusterId, string SelfId, byte[] Secret);

/// <summary>One step of a handshake: a frame to send, and whether the handshake completed or failed.</summary>
internal sealed record HandshakeStep(Frame? Reply, string? PeerId, FrameProblem? Failure)
{
    /// <summary>The connection is authenticated as <see cref="PeerId"/> (after sending <see cref="Reply"/>, if any).</summary>
    public bool Completed => PeerId is not null;

    public static HandshakeStep Continue(Frame reply) => new(reply, null, null);

    public static HandshakeStep Complete(Frame? reply, string peerId) => new(reply, peerId, null);

    public static HandshakeStep Refuse(RefusalReason reason, string detail) => new(null, null, new FrameProblem(reason, detail));
}

/// <summary>The dialing side of the handshake: sends Hello, verifies the acceptor's Challenge, answers with Proof.</summary>
/// <remarks>
/// A pure state machine (the nonce is given; no I/O, no clock): the socket code sends
/// <see cref="Hello"/>, feeds every received frame to <see cref="Receive"/>, sends the step's reply
/// and stops at the first completed or failed step. One connection, one thread at a time.
/// After a failure or completion every further frame is refused.
/// </remarks>
internal sealed class DialerHandshake
{
    private readonly HandshakeSettings _settings;
    private readonly string _peerId;
    private readonly byte[] _nonce;
    private State _state = State.Start;

    public DialerHandshake(HandshakeSettings settings, string peerId, byte[] nonce)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(nonce.Length, HandshakeProof.NonceBytes, nameof(nonce));
        _settings = settings;
        _peerId = peerId;
        _nonce = nonce;
    }

    private enum State
    {
        Start,
        AwaitingChallenge,
        Done,
    }

    /// <summary>The first frame; once.</summary>
    public Frame Hello()
    {
        if (_state != State.Start)
        {
            throw new InvalidOperationException("Hello is sent once, first");
        }

        _state = State.AwaitingChallenge;
        return new Frame
        {
            Hello = new Hello
            {
                ProtocolVersion = _settings.ProtocolVersion,
                ClusterId = _settings.ClusterId,
                ReplicaId = _settings.SelfId,
                Nonce = ByteString.CopyFrom(_nonce),
            },
        };
    }

    public HandshakeStep Receive(Frame frame)
    {
        var state = _state;
        _state = State.Done;
        if (state != State.AwaitingChallenge || frame.BodyCase != Frame.BodyOneofCase.Challenge)
        {
            return HandshakeStep.Refuse(RefusalReason.UnexpectedFrame, $"a {frame.BodyCase} frame where a Challenge was expected");
        }

        var challenge = frame.Challenge;
        if (challenge.ClusterId != _settings.ClusterId)
        {
            return HandshakeStep.Refuse(RefusalReason.WrongClusterId, $"the peer belongs to cluster '{challenge.ClusterId}', this replica to '{_settings.ClusterId}'");
        }

        if (challenge.ReplicaId != _peerId)
        {
            return HandshakeStep.Refuse(RefusalReason.WrongReplicaId, $"dialed {_peerId} but the replica there is '{challenge.ReplicaId}'");
        }

        if (challenge.Nonce.Length != HandshakeProof.NonceBytes || challenge.Proof.Length != HandshakeProof.ProofBytes)
        {
            return HandshakeStep.Refuse(RefusalReason.MalformedHandshake, $"a Challenge with a {challenge.Nonce.Length}-byte nonce and a {challenge.Proof.Length}-byte proof");
        }

        var acceptorNonce = challenge.Nonce.Span;
        if (!HandshakeProof.Verify(_settings.Secret, HandshakeProof.AcceptorLabel, _nonce, acceptorNonce, _settings.ClusterId, _settings.SelfId, _peerId, challenge.Proof.Span))
        {
            return HandshakeStep.Refuse(RefusalReason.BadProof, "the peer's proof is wrong: its secret differs from this replica's, or it is not the replica it claims to be");
        }

        var proof = HandshakeProof.Compute(_settings.Secret, HandshakeProof.DialerLabel, _nonce, acceptorNonce, _settings.ClusterId, _settings.SelfId, _peerId);
        return HandshakeStep.Complete(new Frame { Proof = new Proof { Proof_ = ByteString.CopyFrom(proof) } }, _peerId);
    }
}

/// <summary>The accepting side of the handshake: checks Hello, answers with Challenge, verifies Proof.</summary>
/// <remarks>
/// A pure state machine (the nonce and the membership test are given; no I/O, no clock): the
/// socket code feeds every received frame to <see cref="Receive"/>, sends the step's reply and
/// stops at the first completed or failed step. One connection, one thread at a time. Nothing the
/// dialer sends is trusted until <see cref="HandshakeStep.Completed"/>.
/// </remarks>
internal sealed class AcceptorHandshake
{
    private readonly HandshakeSettings _settings;
    private readonly Func<string, bool> _isPeer;
    private readonly byte[] _nonce;
    private State _state = State.AwaitingHello;
    private Hello? _hello;

    public AcceptorHandshake(HandshakeSettings settings, Func<string, bool> isPeer, byte[] nonce)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(nonce.Length, HandshakeProof.NonceBytes, nameof(nonce));
        _settings = settings;
        _isPeer = isPeer;
        _nonce = nonce;
    }

    private enum State
    {
        AwaitingHello,
        AwaitingProof,
        Done,
    }

    public HandshakeStep Receive(Frame frame)
    {
        switch (_state)
        {
            case State.AwaitingHello when frame.BodyCase == Frame.BodyOneofCase.Hello:
                return ReceiveHello(frame.Hello);
            case State.AwaitingProof when frame.BodyCase == Frame.BodyOneofCase.Proof:
                _state = State.Done;
                return ReceiveProof(frame.Proof);
            default:
                var expected = _state switch
                {
                    State.AwaitingHello => "a Hello",
                    State.AwaitingProof => "a Proof",
                    _ => "nothing",
                };
                _state = State.Done;
                return HandshakeStep.Refuse(RefusalReason.UnexpectedFrame, $"a {frame.BodyCase} frame where {expected} was expected");
        }
    }

    private HandshakeStep ReceiveHello(Hello hello)
    {
        _state = State.Done;
        if (hello.ProtocolVersion != _settings.ProtocolVersion)
        {
            return HandshakeStep.Refuse(RefusalReason.WrongProtocolVersion, $"protocol version {hello.ProtocolVersion}, this replica speaks {_settings.ProtocolVersion}");
        }

        if (hello.ClusterId != _settings.ClusterId)
        {
            return HandshakeStep.Refuse(RefusalReason.WrongClusterId, $"replica '{hello.ReplicaId}' belongs to cluster '{hello.ClusterId}', this replica to '{_settings.ClusterId}'");
        }

        if (hello.ReplicaId == _settings.SelfId)
        {
            return HandshakeStep.Refuse(RefusalReason.SelfReplicaId, $"the dialer claims this replica's own id '{hello.ReplicaId}'");
        }

        if (!_isPeer(hello.ReplicaId))
        {
            return HandshakeStep.Refuse(RefusalReason.UnknownReplica, $"replica id '{hello.ReplicaId}' is not a peer of this replica");
        }

        if (hello.Nonce.Length != HandshakeProof.NonceBytes)
        {
            return HandshakeStep.Refuse(RefusalReason.MalformedHandshake, $"a Hello with a {hello.Nonce.Length}-byte nonce");
        }

        _hello = hello;
        _state = State.AwaitingProof;
        var proof = HandshakeProof.Compute(_settings.Secret, HandshakeProof.AcceptorLabel, hello.Nonce.Span, _nonce, _settings.ClusterId, hello.ReplicaId, _settings.SelfId);
        return HandshakeStep.Continue(new Frame
        {
            Challenge = new Challenge
            {
                ClusterId = _settings.ClusterId,
                ReplicaId = _settings.SelfId,
                Nonce = ByteString.CopyFrom(_nonce),
                Proof = ByteString.CopyFrom(proof),
            },
        });
    }

    private HandshakeStep ReceiveProof(Proof proof)
    {
        var hello = _hello!;
        if (proof.Proof_.Length != HandshakeProof.ProofBytes)
        {
            return HandshakeStep.Refuse(RefusalReason.MalformedHandshake, $"a {proof.Proof_.Length}-byte proof from '{hello.ReplicaId}'");
        }

        if (!HandshakeProof.Verify(_settings.Secret, HandshakeProof.DialerLabel, hello.Nonce.Span, _nonce, _settings.ClusterId, hello.ReplicaId, _settings.SelfId, proof.Proof_.Span))
        {
            return HandshakeStep.Refuse(RefusalReason.BadProof, $"the proof of '{hello.ReplicaId}' is wrong: its secret differs from this replica's, or it is not the replica it claims to be");
        }

        return HandshakeStep.Complete(null, hello.ReplicaId);
    }
}
