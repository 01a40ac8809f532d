using System.Net;
using System.Net.Sockets;
using Aurora.Replication.Protos;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Aurora.Replication.Transport;

/// <summary>Dialed connections: one per peer, reconnected with backoff, carrying this replica's batches.</summary>
public sealed partial class ReplicaTransport
{
    /// <summary>Dials the peer, runs the handshake and pumps its queue; on any failure drops the queue, waits and dials again, until the transport stops.</summary>
    private async Task DialLoopAsync(PeerLink link, CancellationToken stopping)
    {
        var backoff = _options.ReconnectMinBackoff;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                bool wasConnected;
                try
                {
                    wasConnected = await ConnectOnceAsync(link, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    TransportMessages.Unexpected(_logger, e);
                    wasConnected = false;
                }

                DropQueued(link);
                if (wasConnected)
                {
                    backoff = _options.ReconnectMinBackoff;
                }

                // Jitter so that replicas restarted together do not dial in lockstep.
                var delay = backoff * (0.5 + (Random.Shared.NextDouble() / 2));
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.ReconnectMaxBackoff.Ticks));
                try
                {
                    await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        finally
        {
            DropQueued(link);
        }
    }

    /// <summary>One connection's life; true if it was authenticated (whatever ended it).</summary>
    private async Task<bool> ConnectOnceAsync(PeerLink link, CancellationToken stopping)
    {
        NetworkStream? stream = null;
        try
        {
            using (var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token))
            {
                try
                {
                    stream = new NetworkStream(await ConnectAsync(link.Host, link.Port, linked.Token).ConfigureAwait(false), ownsSocket: true);
                }
                catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !stopping.IsCancellationRequested))
                {
                    Unreachable(link, e is SocketException ? e.Message : $"no connection within {_options.HandshakeTimeout}");
                    return false;
                }

                try
                {
                    await DialHandshakeAsync(stream, link, linked.Token).ConfigureAwait(false);
                }
                catch (FrameException e)
                {
                    RefuseOutbound(link, e.Problem);
                    return false;
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    RefuseOutbound(link, new FrameProblem(RefusalReason.HandshakeTimeout, $"no complete handshake within {_options.HandshakeTimeout}"));
                    return false;
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    RefuseOutbound(link, new FrameProblem(RefusalReason.ClosedDuringHandshake, $"the connection broke during the handshake ({e.Message})"));
                    return false;
                }
            }

            link.OutageReported = false;
            link.LastError = null;
            link.Connected = true;
            Interlocked.Increment(ref link.Connects);
            TransportMessages.Connected(_logger, link.PeerId);
            var ended = await PumpAsync(stream, link, stopping).ConfigureAwait(false);
            link.LastError = ended;
            TransportMessages.Disconnected(_logger, link.PeerId, ended);
            return true;
        }
        finally
        {
            link.Connected = false;
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private void Unreachable(PeerLink link, string error)
    {
        link.LastError = error;
        var level = link.OutageReported ? LogLevel.Debug : LogLevel.Information;
        link.OutageReported = true;
        TransportMessages.Unreachable(_logger, level, link.PeerId, error, _options.ReconnectMaxBackoff);
    }

    /// <summary>Connects to the first address of <paramref name="host"/> that answers.</summary>
    private static async Task<Socket> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>Runs the dialer's side of the handshake.</summary>
    /// <exception cref="FrameException">The peer was refused (or refused us).</exception>
    private async Task DialHandshakeAsync(NetworkStream stream, PeerLink link, CancellationToken cancellationToken)
    {
        var handshake = new DialerHandshake(_handshake!, link.PeerId, NewNonce());
        await FrameIo.WriteAsync(stream, handshake.Hello(), cancellationToken).ConfigureAwait(false);
        var read = await FrameIo.ReadAsync(stream, new byte[FrameCodec.LengthPrefixBytes], FrameCodec.MaxHandshakeFrameBytes, cancellationToken).ConfigureAwait(false)
            ?? throw new FrameException(new FrameProblem(RefusalReason.ClosedDuringHandshake, "the peer closed the connection after Hello"));
        var step = handshake.Receive(read.Frame);
        if (step.Failure is { } failure)
        {
            throw new FrameException(failure);
        }

        await FrameIo.WriteAsync(stream, step.Reply!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes every queued message, as many per Batch frame as fit, until the connection breaks
    /// (returns why) or the transport stops (throws <see cref="OperationCanceledException"/>).
    /// Never waits for an answer: the peer answers on its own connection.
    /// </summary>
    private async Task<string> PumpAsync(NetworkStream stream, PeerLink link, CancellationToken stopping)
    {
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var watch = WatchAsync(stream, link, lost);
        var reader = link.Queue.Reader;
        var batch = new List<Queued>();
        Queued? carry = null;
        try
        {
            while (true)
            {
                if (carry is null && !await reader.WaitToReadAsync(lost.Token).ConfigureAwait(false))
                {
                    return "the transport stopped";
                }

                batch.Clear();
                long batchBytes = 0;
                if (carry is { } carried)
                {
                    batch.Add(carried);
                    batchBytes += Envelope(carried.Size);
                    carry = null;
                }

                while (batchBytes < _options.BatchTargetBytes && reader.TryRead(out var queued))
                {
                    Interlocked.Add(ref link.QueuedBytes, -queued.Size);
                    var added = Envelope(queued.Size);
                    if (batch.Count > 0 && batchBytes + added + 6 > _options.MaxFrameBytes)
                    {
                        carry = queued;
                        break;
                    }

                    batch.Add(queued);
                    batchBytes += added;
                }

                var frame = new Frame { Batch = new Batch() };
                foreach (var queued in batch)
                {
                    frame.Batch.Messages.Add(queued.Message);
                }

                int written;
                try
                {
                    written = await FrameIo.WriteAsync(stream, frame, lost.Token).ConfigureAwait(false);
                }
                catch
                {
                    Drop(link, batch.Count, "the connection broke", warn: false);
                    throw;
                }

                Interlocked.Increment(ref link.FramesSent);
                Interlocked.Add(ref link.MessagesSent, batch.Count);
                Interlocked.Add(ref link.BytesSent, written);
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return await watch.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return e.Message;
        }
        finally
        {
            if (carry is not null)
            {
                Drop(link, 1, "the connection broke", warn: false);
            }

            await lost.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
        }
    }

    /// <summary>A Batch's bytes for one message of <paramref name="size"/> bytes: tag, length, message.</summary>
    private static long Envelope(int size) => 1 + CodedOutputStream.ComputeLengthSize(size) + size;

    /// <summary>Waits for the end of a dialed connection: the acceptor never sends after its Challenge, so any byte, the end of the stream or an error ends it.</summary>
    private async Task<string> WatchAsync(NetworkStream stream, PeerLink link, CancellationTokenSource lost)
    {
        try
        {
            var buffer = new byte[1];
            if (await stream.ReadAsync(buffer, lost.Token).ConfigureAwait(false) == 0)
            {
                return "the peer closed the connection";
            }

            RefuseOutbound(link, new FrameProblem(RefusalReason.UnexpectedFrame, "the peer sent data after the handshake, where it only receives"));
            return "the peer sent data after the handshake";
        }
        catch (OperationCanceledException)
        {
            return "closed";
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            return e.Message;
        }
        finally
        {
            try
            {
                await lost.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The pump has finished.
            }
        }
    }

    /// <summary>Drops every message still queued for the peer (the connection is down: the protocol retries).</summary>
    private void DropQueued(PeerLink link)
    {
        long count = 0;
        while (link.Queue.Reader.TryRead(out var queued))
        {
            Interlocked.Add(ref link.QueuedBytes, -queued.Size);
            count++;
        }

        Drop(link, count, "queued while disconnected", warn: false);
    }
}
