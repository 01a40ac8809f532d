using System.Net;
using System.Net.Sockets;
using Aurora.Replication.Protos;

namespace Aurora.Replication.Transport;

/// <summary>Accepted connections: the acceptor's handshake, then Batch frames delivered to the handler.</summary>
public sealed partial class ReplicaTransport
{
    private async Task AcceptLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // A connection reset before it was accepted, or out of descriptors: wait a little.
                TransportMessages.AcceptFailed(_logger, e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            if (Interlocked.Increment(ref _pendingHandshakes) > _options.MaxPendingHandshakes)
            {
                Interlocked.Decrement(ref _pendingHandshakes);
                var (address, remote) = Describe(socket);
                RefuseInbound(address, remote, new FrameProblem(RefusalReason.TooManyHandshakes, $"{_options.MaxPendingHandshakes} connections are already in their handshake"));
                socket.Dispose();
                continue;
            }

            Track(ServeInboundAsync(socket, stopping));
        }
    }

    private async Task ServeInboundAsync(Socket socket, CancellationToken stopping)
    {
        var (address, remote) = Describe(socket);
        socket.NoDelay = true;
        var stream = new NetworkStream(socket, ownsSocket: true);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                var prefix = new byte[FrameCodec.LengthPrefixBytes];
                string? peerId;
                try
                {
                    peerId = await AcceptHandshakeAsync(stream, prefix, address, remote, stopping).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _pendingHandshakes);
                }

                if (peerId is not null)
                {
                    await ReceiveAsync(stream, prefix, peerId, address, remote, stopping).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                TransportMessages.Unexpected(_logger, e);
            }
        }
    }

    /// <summary>Runs the acceptor's side of the handshake; the authenticated peer's id, or null when the connection was refused (and logged).</summary>
    private async Task<string?> AcceptHandshakeAsync(NetworkStream stream, byte[] prefix, string address, string remote, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        var handshake = new AcceptorHandshake(_handshake!, IsPeer, NewNonce());
        try
        {
            while (true)
            {
                var read = await FrameIo.ReadAsync(stream, prefix, FrameCodec.MaxHandshakeFrameBytes, linked.Token).ConfigureAwait(false);
                if (read is null)
                {
                    RefuseInbound(address, remote, new FrameProblem(RefusalReason.ClosedDuringHandshake, "the dialer closed the connection before completing the handshake"));
                    return null;
                }

                var step = handshake.Receive(read.Value.Frame);
                if (step.Failure is { } failure)
                {
                    RefuseInbound(address, remote, failure);
                    return null;
                }

                if (step.Reply is not null)
                {
                    await FrameIo.WriteAsync(stream, step.Reply, linked.Token).ConfigureAwait(false);
                }

                if (step.Completed)
                {
                    return step.PeerId;
                }
            }
        }
        catch (FrameException e)
        {
            RefuseInbound(address, remote, e.Problem);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            RefuseInbound(address, remote, new FrameProblem(RefusalReason.HandshakeTimeout, $"no complete handshake within {_options.HandshakeTimeout}"));
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            RefuseInbound(address, remote, new FrameProblem(RefusalReason.ClosedDuringHandshake, $"the connection broke during the handshake ({e.Message})"));
        }

        return null;
    }

    /// <summary>Delivers the Batch frames of an authenticated connection until it ends, a newer connection from the same peer replaces it, or the transport stops.</summary>
    private async Task ReceiveAsync(NetworkStream stream, byte[] prefix, string peerId, string address, string remote, CancellationToken stopping)
    {
        var link = _peers![peerId];
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var previous = Interlocked.Exchange(ref link.Inbound, connection);
        CancelQuietly(previous);
        TransportMessages.InboundAuthenticated(_logger, peerId, remote);
        try
        {
            while (true)
            {
                var read = await FrameIo.ReadAsync(stream, prefix, _options.MaxFrameBytes, connection.Token).ConfigureAwait(false);
                if (read is null)
                {
                    TransportMessages.InboundClosed(_logger, peerId, "end of stream");
                    return;
                }

                var (frame, bytes) = read.Value;
                if (frame.BodyCase != Frame.BodyOneofCase.Batch)
                {
                    RefuseInbound(address, $"{peerId} ({remote})", new FrameProblem(RefusalReason.UnexpectedFrame, $"a {frame.BodyCase} frame after the handshake"));
                    return;
                }

                Interlocked.Increment(ref link.FramesReceived);
                Interlocked.Add(ref link.BytesReceived, bytes);
                foreach (var message in frame.Batch.Messages)
                {
                    if (connection.IsCancellationRequested)
                    {
                        return;
                    }

                    Interlocked.Increment(ref link.MessagesReceived);
                    Deliver(peerId, message);
                }
            }
        }
        catch (FrameException e)
        {
            RefuseInbound(address, $"{peerId} ({remote})", e.Problem);
        }
        catch (OperationCanceledException)
        {
            // Replaced by a newer connection, or shutting down.
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            TransportMessages.InboundClosed(_logger, peerId, e.Message);
        }
        finally
        {
            Interlocked.CompareExchange(ref link.Inbound, null, connection);
        }
    }

    private static void CancelQuietly(CancellationTokenSource? source)
    {
        try
        {
            source?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Its connection ended meanwhile.
        }
    }

    /// <summary>The remote IP address (the key of "warn once") and a description for the log.</summary>
    private static (string Address, string Remote) Describe(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint is IPEndPoint endPoint
                ? (endPoint.Address.ToString(), endPoint.ToString())
                : ("unknown", "an unknown address");
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return ("unknown", "an unknown address");
        }
    }
}
