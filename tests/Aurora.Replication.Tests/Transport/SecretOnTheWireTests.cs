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
        await using var toA = new CapturingProxy(a.Port);
        await using var toB = new CapturingProxy(b.Port);

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

    /// <summary>A loopback TCP proxy to <c>target</c> that keeps every byte, one buffer per connection and direction.</summary>
    private sealed class CapturingProxy : IAsyncDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentBag<MemoryStream> _captured = [];
        private readonly ConcurrentBag<Task> _tasks = [];
        private readonly Task _accepting;

        public CapturingProxy(int target)
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _accepting = AcceptAsync(target);
        }

        public int Port { get; }

        public IEnumerable<byte[]> Captured => _captured.Select(c =>
        {
            lock (c)
            {
                return c.ToArray();
            }
        });

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _accepting;
            await Task.WhenAll(_tasks);
            _stop.Dispose();
        }

        private async Task AcceptAsync(int target)
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await _listener.AcceptAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await server.ConnectAsync(IPAddress.Loopback, target, _stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException)
                {
                    client.Dispose();
                    server.Dispose();
                    continue;
                }

                _tasks.Add(CopyAsync(client, server));
                _tasks.Add(CopyAsync(server, client));
            }
        }

        private async Task CopyAsync(Socket from, Socket to)
        {
            var capture = new MemoryStream();
            _captured.Add(capture);
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await from.ReceiveAsync(buffer, _stop.Token)) > 0)
                {
                    lock (capture)
                    {
                        capture.Write(buffer, 0, read);
                    }

                    await to.SendAsync(buffer.AsMemory(0, read), _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
            finally
            {
                from.Dispose();
                to.Dispose();
            }
        }
    }
}
