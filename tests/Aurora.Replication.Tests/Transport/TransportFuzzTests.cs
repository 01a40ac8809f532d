using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Aurora.Replication.Tests.Transport;

/// <summary>
/// Seeded fuzzers of the frame decoder and the handshake, through the pure functions and through
/// real sockets: random bytes, random truncations and mutations of valid handshake and batch
/// frames, hostile length prefixes.
/// </summary>
/// <remarks>
/// Nothing may throw out of the decoder, the handshake or the transport; no message from an
/// unauthenticated connection may be delivered; an authenticated connection delivers exactly what
/// the pure decoder finds before the first bad frame; the transport keeps serving its good peer.
/// <list type="bullet">
/// <item><c>AURORA_FUZZ_SEED=N</c> replays a run (the seed is printed, and named in every failure;
/// each case's random source derives from the seed and the case number).</item>
/// <item><c>AURORA_FUZZ_LONG=1</c> (<c>./test.sh --long</c>) runs the long counts;
/// <c>AURORA_FUZZ_CASES=N</c> sets the number outright.</item>
/// </list>
/// </remarks>
public sealed class TransportFuzzTests(ITestOutputHelper output)
{
    public const int DecoderCases = 10_000;
    public const int DecoderLongCases = 250_000;
    public const int HandshakeCases = 10_000;
    public const int HandshakeLongCases = 250_000;
    public const int SocketCases = 500;
    public const int SocketLongCases = 15_000;

    private const int MaxFrame = 64 * 1024;
    private const int Workers = 4;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan CloseBound = TimeSpan.FromSeconds(10);
    private static readonly byte[] WrongSecret = [.. WireSamples.Secret.Select(b => (byte)(b ^ 0x5A))];

    [Fact]
    public void The_frame_decoder_survives_random_and_mutated_streams_whatever_their_chunking() =>
        Run(DecoderCases, DecoderLongCases, DecoderCase);

    [Fact]
    public void The_handshake_completes_only_with_the_secret_and_unaltered_nonces() =>
        Run(HandshakeCases, HandshakeLongCases, HandshakeCase);

    [Fact]
    public async Task A_transport_fed_hostile_connections_delivers_nothing_unauthenticated_and_keeps_serving()
    {
        var settings = FuzzSettings.FromEnvironment(SocketCases, SocketLongCases);
        output.WriteLine(settings.Replay);
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Workers).Select(w => $"127.0.0.1:{2 + w}").ToArray();
        await using var good = await RefusalTests.GoodPairAsync(o => o with { MaxFrameBytes = MaxFrame, HandshakeTimeout = HandshakeTimeout }, workers);
        var a = good.A;
        var failures = new ConcurrentQueue<string>();
        var next = -1;

        async Task WorkAsync(int worker)
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < settings.Cases && failures.Count < 5)
            {
                try
                {
                    await SocketCaseAsync(good, workers[worker], FuzzInputs.CaseRandom(settings.Seed, index));
                }
                catch (Exception e)
                {
                    failures.Enqueue($"case {index}: {e}");
                }

                if (worker == 0 && index % 100 == 0)
                {
                    await good.StillServingAsync();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => WorkAsync(w))));
        Assert.True(failures.IsEmpty, $"{settings.Replay}\n{string.Join("\n", failures)}\n{a.Describe()}");

        await good.StillServingAsync();
        foreach (var worker in workers)
        {
            await using var client = await RawClient.ConnectAsync(a.Port);
            await client.HandshakeAsync(worker, a.Id);
            var term = FuzzInputs.FuzzTerms - 1;
            await client.SendAsync(WireSamples.BatchOf(WireSamples.Probe(term)));
            await Eventually.HoldsAsync($"a final message from {worker}", () => a.From(worker).Any(m => m.StatusProbe?.Term == term), TimeSpan.FromSeconds(30), a.Describe);
        }

        var status = a.Transport.GetStatus();
        output.WriteLine($"{settings.Cases} socket cases in {clock.Elapsed.TotalSeconds:F1} s; refused: {string.Join(", ", status.Refused.Select(r => $"{r.Key} {r.Value}"))}");
        Assert.DoesNotContain(a.Received, r => r.From != good.B.Id && !workers.Contains(r.From));
        Assert.DoesNotContain(a.Received, r => r.From == good.B.Id && ProbeTerm(r.Message) >= FuzzInputs.FuzzTerms);
        Assert.DoesNotContain(a.Logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.InRange(a.Warnings(TestNode.InboundRefused), 1, Enum.GetValues<RefusalReason>().Length);
        Assert.True(status.Refused.Values.Sum() >= settings.Cases / 2, $"{settings.Replay}: only {status.Refused.Values.Sum()} connections refused");
    }

    private enum Kind
    {
        RandomBytes,
        HandshakeFrames,
        HostilePrefix,
        Impostor,
        Authenticated,
    }

    private static ulong ProbeTerm(PeerMessage message) => message.StatusProbe?.Term ?? 0;

    private void Run(int defaultCases, int longCases, Action<Random> check)
    {
        var settings = FuzzSettings.FromEnvironment(defaultCases, longCases);
        output.WriteLine(settings.Replay);
        var clock = Stopwatch.StartNew();
        for (var index = 0; index < settings.Cases; index++)
        {
            try
            {
                check(FuzzInputs.CaseRandom(settings.Seed, index));
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"case {index} failed; {settings.Replay}\n{e}");
            }
        }

        output.WriteLine($"{settings.Cases} cases in {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>A stream of valid, mutated and random pieces, decoded whole and in random chunks: the same frames and the same end either way, and valid frames decode to themselves.</summary>
    private static void DecoderCase(Random random)
    {
        var pieces = new List<byte[]>();
        var originals = new List<Frame>();
        var pristine = true;
        for (var count = random.Next(1, 6); count > 0; count--)
        {
            var frame = random.Next(2) == 0 ? FuzzInputs.Batch(random) : FuzzInputs.HandshakeFrame(random);
            var bytes = FrameCodec.Encode(frame);
            switch (random.Next(5))
            {
                case 0:
                case 1:
                    pieces.Add(bytes);
                    originals.Add(frame);
                    break;
                case 2:
                    pieces.Add(FuzzInputs.Mutate(random, bytes, MaxFrame));
                    pristine = false;
                    break;
                case 3:
                    pieces.Add(FuzzInputs.Bytes(random, random.Next(random.Next(2) == 0 ? 16 : 3000)));
                    pristine = false;
                    break;
                default:
                    pieces.Add([.. FuzzInputs.LengthPrefix(random, MaxFrame), .. FuzzInputs.Bytes(random, random.Next(100))]);
                    pristine = false;
                    break;
            }
        }

        var stream = pieces.SelectMany(p => p).ToArray();
        var whole = FuzzInputs.DecodeAll(stream, MaxFrame);
        if (pristine)
        {
            Assert.Equal(originals, whole.Frames);
            Assert.Equal(DecodeStatus.NeedMore, whole.End);
            Assert.Equal(0, whole.Leftover);

            // Every truncation of a valid stream decodes the frames before the cut and waits for more.
            var cut = random.Next(stream.Length);
            var truncated = FuzzInputs.DecodeAll(stream.AsSpan(0, cut), MaxFrame);
            Assert.Equal(DecodeStatus.NeedMore, truncated.End);
            Assert.Equal(originals.Take(truncated.Frames.Count), truncated.Frames);
        }

        foreach (var frame in whole.Frames)
        {
            Assert.NotEqual(Frame.BodyOneofCase.None, frame.BodyCase);
            var again = FuzzInputs.DecodeAll(FrameCodec.Encode(frame), MaxFrame);
            Assert.Equal(frame, Assert.Single(again.Frames));
        }

        if (whole.End == DecodeStatus.Invalid)
        {
            Assert.Contains(whole.Problem.Reason, new[] { RefusalReason.MalformedFrame, RefusalReason.OversizedFrame, RefusalReason.EmptyFrame });
        }

        // The same bytes arriving in random pieces, decoded as they come.
        var buffer = new List<byte>();
        var chunked = new List<Frame>();
        var end = DecodeStatus.NeedMore;
        FrameProblem problem = default;
        foreach (var chunk in FuzzInputs.Chunks(random, stream))
        {
            buffer.AddRange(chunk.ToArray());
            while (end == DecodeStatus.NeedMore)
            {
                var status = FrameCodec.TryDecode(CollectionsMarshal.AsSpan(buffer), MaxFrame, out var frame, out var consumed, out problem);
                if (status == DecodeStatus.Decoded)
                {
                    chunked.Add(frame!);
                    buffer.RemoveRange(0, consumed);
                    continue;
                }

                end = status;
                if (status == DecodeStatus.NeedMore)
                {
                    break;
                }
            }

            if (end == DecodeStatus.Invalid)
            {
                break;
            }
        }

        Assert.Equal(whole.Frames, chunked);
        Assert.Equal(whole.End, end);
        Assert.Equal(whole.Problem, problem);
    }

    /// <summary>
    /// A dialer and an acceptor whose frames are mutated in transit, either of them maybe an
    /// impostor with another secret: a side completes only if the other has the same secret and the
    /// nonces and ids it received are the ones the other sent; without tampering and with the same
    /// secret both complete; a finished side refuses everything after.
    /// </summary>
    private static void HandshakeCase(Random random)
    {
        const string DialerId = "10.0.0.1:7000";
        const string AcceptorId = "10.0.0.2:7000";
        var dialerNonce = FuzzInputs.Bytes(random, HandshakeProof.NonceBytes);
        var acceptorNonce = FuzzInputs.Bytes(random, HandshakeProof.NonceBytes);
        var impostorDialer = random.Next(4) == 0;
        var impostorAcceptor = random.Next(4) == 0;
        var dialer = new DialerHandshake(new HandshakeSettings(1, "cluster-1", DialerId, impostorDialer ? WrongSecret : WireSamples.Secret), AcceptorId, dialerNonce);
        var acceptor = new AcceptorHandshake(new HandshakeSettings(1, "cluster-1", AcceptorId, impostorAcceptor ? WrongSecret : WireSamples.Secret), id => id == DialerId, acceptorNonce);
        var sameSecret = impostorDialer == impostorAcceptor;
        var mutation = random.Next(3) == 0 ? 0.0 : 0.5;
        var tampered = false;

        // In transit: maybe swapped for a random frame, maybe mutated; null when the bytes no longer decode.
        Frame? Transit(Frame sent)
        {
            var frame = random.Next(8) == 0 ? FuzzInputs.HandshakeFrame(random, random.Next(2) == 0 ? DialerId : AcceptorId) : sent;
            var bytes = FrameCodec.Encode(frame);
            if (random.NextDouble() < mutation)
            {
                bytes = FuzzInputs.Mutate(random, bytes, FrameCodec.MaxHandshakeFrameBytes);
            }

            var received = FuzzInputs.DecodeAll(bytes, FrameCodec.MaxHandshakeFrameBytes).Frames.FirstOrDefault();
            tampered |= !sent.Equals(received);
            return received;
        }

        var hello = Transit(dialer.Hello());
        if (hello is null)
        {
            return;
        }

        var challengeStep = acceptor.Receive(hello);
        AssertFinishedRefusesEverything(acceptor, challengeStep, hello);
        Assert.False(challengeStep.Completed);
        if (challengeStep.Reply is null)
        {
            Assert.True(tampered, challengeStep.Failure?.Detail);
            return;
        }

        Assert.Equal(DialerId, hello.Hello.ReplicaId);
        var challenge = Transit(challengeStep.Reply);
        if (challenge is null)
        {
            return;
        }

        var proofStep = dialer.Receive(challenge);
        AssertFinishedRefusesEverything(dialer, proofStep, challenge);
        if (!proofStep.Completed)
        {
            // Only another secret or tampering stops the dialer.
            Assert.True(!sameSecret || tampered, proofStep.Failure?.Detail);

            // A forger without the acceptor's secret answers the challenge instead: refused.
            var forged = random.Next(3) switch
            {
                0 => challengeStep.Reply.Challenge.Proof,
                1 => ByteString.CopyFrom(FuzzInputs.Bytes(random, HandshakeProof.ProofBytes)),
                _ => ByteString.CopyFrom(HandshakeProof.Compute(FuzzInputs.Bytes(random, 32), HandshakeProof.DialerLabel, hello.Hello.Nonce.Span, acceptorNonce, "cluster-1", DialerId, AcceptorId)),
            };
            var refused = acceptor.Receive(new Frame { Proof = new Proof { Proof_ = forged } });
            Assert.False(refused.Completed);
            Assert.NotNull(refused.Failure);
            return;
        }

        // The dialer trusts only an acceptor with its secret that proved over the dialer's own nonce.
        Assert.True(sameSecret);
        Assert.Equal(AcceptorId, proofStep.PeerId);
        Assert.Equal(dialerNonce, hello.Hello.Nonce.ToByteArray());
        Assert.Equal(acceptorNonce, challenge.Challenge.Nonce.ToByteArray());
        var proof = Transit(proofStep.Reply!);
        if (proof is null)
        {
            return;
        }

        var done = acceptor.Receive(proof);
        AssertFinishedRefusesEverything(acceptor, done, proof);
        if (done.Completed)
        {
            Assert.Equal(DialerId, done.PeerId);
            Assert.Null(done.Reply);
            Assert.Equal(proofStep.Reply!.Proof.Proof_, proof.Proof.Proof_);
        }
        else
        {
            Assert.True(tampered, done.Failure?.Detail);
        }
    }

    private static void AssertFinishedRefusesEverything(DialerHandshake dialer, HandshakeStep step, Frame last)
    {
        if (step.Completed || step.Failure is not null)
        {
            Assert.NotNull(dialer.Receive(last).Failure);
        }
    }

    private static void AssertFinishedRefusesEverything(AcceptorHandshake acceptor, HandshakeStep step, Frame last)
    {
        if (step.Completed || step.Failure is not null)
        {
            var again = acceptor.Receive(last);
            Assert.NotNull(again.Failure);
            Assert.False(again.Completed);
        }
    }

    /// <summary>One hostile connection to the transport; for an authenticated one, exactly what the pure decoder accepts is delivered.</summary>
    private static async Task SocketCaseAsync(RefusalTests.GoodPair good, string workerId, Random random)
    {
        var a = good.A;
        var kind = random.Next(20) switch
        {
            < 3 => Kind.RandomBytes,
            < 9 => Kind.HandshakeFrames,
            < 11 => Kind.HostilePrefix,
            < 14 => Kind.Impostor,
            _ => Kind.Authenticated,
        };
        await using var client = await RawClient.ConnectAsync(a.Port);
        var bytes = new List<byte>();
        List<PeerMessage> expected = [];
        var before = a.From(workerId).Count;
        switch (kind)
        {
            case Kind.Authenticated:
                // A genuine handshake, then frames the pure decoder judges.
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await client.HandshakeAsync(workerId, a.Id);
                }
                catch (InvalidOperationException) when (Stopwatch.GetElapsedTime(started) >= HandshakeTimeout)
                {
                    // A loaded machine made a genuine handshake slower than this fuzzer's short
                    // handshake timeout, and the acceptor closed it, as it must. Nothing was
                    // delivered; the case can show nothing more.
                    Assert.Equal(before, a.From(workerId).Count);
                    return;
                }
                for (var count = random.Next(1, 6); count > 0; count--)
                {
                    var frame = random.Next(6) == 0 ? FuzzInputs.HandshakeFrame(random, workerId) : FuzzInputs.Batch(random);
                    var piece = FrameCodec.Encode(frame);
                    bytes.AddRange(random.Next(3) switch
                    {
                        0 => FuzzInputs.Mutate(random, piece, MaxFrame),
                        1 when random.Next(4) == 0 => FuzzInputs.Bytes(random, random.Next(64)),
                        _ => piece,
                    });
                }

                var judged = FuzzInputs.DecodeAll(bytes.ToArray(), MaxFrame);
                expected = [.. judged.Frames.TakeWhile(f => f.BodyCase == Frame.BodyOneofCase.Batch).SelectMany(f => f.Batch.Messages)];
                break;
            case Kind.Impostor:
                // A plausible Hello, then a proof made without the secret, then batches.
                var hello = WireSamples.HelloFrom(Claim(random, good, workerId));
                hello.Hello.Nonce = ByteString.CopyFrom(FuzzInputs.Bytes(random, HandshakeProof.NonceBytes));
                await client.SendAsync(hello);
                var challenge = await ReadOrNullAsync(client);
                if (challenge?.BodyCase == Frame.BodyOneofCase.Challenge)
                {
                    var c = challenge.Challenge;
                    var proof = random.Next(3) switch
                    {
                        0 => c.Proof,
                        1 => ByteString.CopyFrom(FuzzInputs.Bytes(random, HandshakeProof.ProofBytes)),
                        _ => ByteString.CopyFrom(HandshakeProof.Compute(WrongSecret, HandshakeProof.DialerLabel, hello.Hello.Nonce.Span, c.Nonce.Span, c.ClusterId, hello.Hello.ReplicaId, c.ReplicaId)),
                    };
                    bytes.AddRange(MaybeMutated(random, FrameCodec.Encode(new Frame { Proof = new Proof { Proof_ = proof } })));
                }

                bytes.AddRange(FrameCodec.Encode(FuzzInputs.Batch(random)));
                break;
            default:
                for (var count = random.Next(1, 4); count > 0; count--)
                {
                    bytes.AddRange(kind switch
                    {
                        Kind.RandomBytes => random.Next(2) == 0
                            ? FuzzInputs.Bytes(random, random.Next(random.Next(2) == 0 ? 8 : 2000))
                            : [.. WireSamples.Prefix((uint)random.Next(1, 200)), .. FuzzInputs.Bytes(random, random.Next(200))],
                        Kind.HandshakeFrames => MaybeMutated(random, FrameCodec.Encode(random.Next(4) == 0 ? FuzzInputs.Batch(random) : FuzzInputs.HandshakeFrame(random, Claim(random, good, workerId)))),
                        _ => [.. FuzzInputs.LengthPrefix(random, random.Next(2) == 0 ? MaxFrame : FrameCodec.MaxHandshakeFrameBytes), .. FuzzInputs.Bytes(random, random.Next(50))],
                    });
                }

                break;
        }

        try
        {
            foreach (var chunk in FuzzInputs.Chunks(random, bytes.ToArray()))
            {
                await client.SendAsync(chunk.ToArray());
            }

            if (kind == Kind.Authenticated || random.Next(2) == 0)
            {
                client.ShutdownSend();
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The transport closed the connection before everything was sent: fine.
        }

        // Unauthenticated connections end by the handshake timeout at the latest.
        Assert.True(await client.ClosedWithinAsync(CloseBound), $"{kind}: the connection was not closed");
        var delivered = a.From(workerId).Skip(before).ToList();
        Assert.Equal(expected, delivered);
    }

    private static async Task<Frame?> ReadOrNullAsync(RawClient client)
    {
        try
        {
            return await client.ReadFrameAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or FrameException)
        {
            return null;
        }
    }

    private static byte[] MaybeMutated(Random random, byte[] bytes) =>
        random.Next(3) == 0 ? bytes : FuzzInputs.Mutate(random, bytes, FrameCodec.MaxHandshakeFrameBytes);

    /// <summary>Whom an unauthenticated connection claims to be: a known peer, this worker, the acceptor itself, or a stranger.</summary>
    private static string Claim(Random random, RefusalTests.GoodPair good, string workerId) => random.Next(5) switch
    {
        0 => good.B.Id,
        1 => workerId,
        2 => good.A.Id,
        3 => good.C,
        _ => FuzzInputs.Text(random),
    };
}
