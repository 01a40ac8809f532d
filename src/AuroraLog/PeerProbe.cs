using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Aurora.Replication.Membership;
using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Aurora.Storage.Protos;

namespace Aurora.LogTool;

/// <summary>What <c>repair --from</c> needs to ask a peer for its status.</summary>
/// <param name="Peer">The peer asked (<c>--from</c>).</param>
/// <param name="Self">The replica being repaired (<c>--replica_id</c>): the id the tool presents, and the port it listens on.</param>
/// <param name="Secret">The replicas' shared secret (<c>--replication_secret_file</c>).</param>
/// <param name="Timeout">How long to wait for the answer.</param>
internal sealed record PeerCheck(ReplicaAddress Peer, ReplicaAddress Self, ReplicationSecret Secret, TimeSpan Timeout);

/// <summary>
/// Asks one replica for its status (a StatusProbe, answered by a StatusReply) over the real
/// replication transport, as the replica being repaired would.
/// </summary>
/// <remarks>
/// <para>The transport carries each replica's messages on that replica's own outbound connection,
/// so the peer's answer arrives on a connection the peer dials to <see cref="PeerCheck.Self"/>:
/// the tool listens on that replica's port, presents its id (the peer accepts only members of
/// its <c>-native_log_replicas</c>) and proves it knows the secret in the handshake. The peer
/// redials a replica it lost with a backoff of up to 5 seconds, so a timeout shorter than that may
/// miss a healthy peer.</para>
/// <para>A StatusProbe changes nothing on the peer (it only answers), so probing is harmless. Not
/// thread-safe; one call at a time. The transport is disposed before the call returns.</para>
/// </remarks>
internal static class PeerProbe
{
    /// <summary>How often the probe is sent again: a message queued while the connection is still being made may be dropped.</summary>
    private static readonly TimeSpan Resend = TimeSpan.FromMilliseconds(250);

    /// <summary>The peer's answer.</summary>
    /// <param name="check">Whom to ask, as whom.</param>
    /// <param name="clusterId">The cluster id presented in the handshake.</param>
    /// <param name="term">The term the probe carries (the replica's promised term).</param>
    /// <param name="time">Measures the timeout.</param>
    /// <exception cref="RepairRefusedException">No answer within the timeout (the message says what the transport saw), or the replica's port cannot be bound.</exception>
    public static async Task<StatusReply> AskAsync(PeerCheck check, string clusterId, ulong term, TimeProvider time)
    {
        var answer = new TaskCompletionSource<StatusReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new ReplicaTransportOptions
        {
            ClusterId = clusterId,
            Secret = check.Secret.Bytes.ToArray(),
            ListenAddress = check.Self.IsIPv6 ? IPAddress.IPv6Any : IPAddress.Any,
            Port = check.Self.Port,
            HandshakeTimeout = check.Timeout < TimeSpan.FromSeconds(5) ? check.Timeout : TimeSpan.FromSeconds(5),
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectMaxBackoff = Resend,
        };

        ReplicaTransport transport;
        try
        {
            transport = new ReplicaTransport(
                options,
                (from, message) =>
                {
                    if (from == check.Peer.Id && message.BodyCase == PeerMessage.BodyOneofCase.StatusReply)
                    {
                        answer.TrySetResult(message.StatusReply);
                    }
                });
        }
        catch (SocketException e)
        {
            throw new RepairRefusedException(
                $"cannot listen on port {check.Self.Port} of --replica_id={check.Self.Id} for the answer of {check.Peer.Id} ({e.Message}): "
                + "is this replica's scheduler still running, or another program using its -replication_port? Nothing was changed");
        }

        await using (transport.ConfigureAwait(false))
        {
            transport.Start(check.Self.Id, [check.Peer.Id]);
            var started = time.GetTimestamp();
            while (true)
            {
                transport.Send(check.Peer.Id, new PeerMessage { StatusProbe = new StatusProbe { Term = term, Status = ReplicaStatus.Recovering } });
                var left = check.Timeout - time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                var wait = Task.Delay(left < Resend ? left : Resend, time);
                if (await Task.WhenAny(answer.Task, wait).ConfigureAwait(false) == answer.Task)
                {
                    return await answer.Task.ConfigureAwait(false);
                }
            }

            throw new RepairRefusedException(NoAnswer(check, transport.GetStatus()));
        }
    }

    /// <summary>Why no answer came, as far as the transport can tell.</summary>
    private static string NoAnswer(PeerCheck check, TransportStatus status)
    {
        var peer = status.Peers.Single();
        var seen = peer.Connected
            ? $"this tool reached {check.Peer.Id} and sent the probe, but the answer never came back: the peer answers on its own connection to "
                + $"{check.Self.Id}, so check that its -native_log_replicas lists {check.Self.Id} exactly and that it can reach port {check.Self.Port} of this host"
            : peer.LastError is { } error
                ? $"the connection to it failed: {error}"
                : "no connection to it was made";
        var refused = status.Refused.Count == 0
            ? string.Empty
            : "; connections refused by this tool: " + string.Join(", ", status.Refused.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Key} x{r.Value}")));
        return $"{check.Peer.Id} did not answer a status probe within {Amounts.FormatDuration(check.Timeout)} ({seen}{refused}); "
            + "repair needs a VOTING peer to copy the log from; nothing was changed";
    }
}
