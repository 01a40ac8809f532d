using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Microsoft.Extensions.Logging;

namespace Aurora.Replication;

/// <summary>
/// One replica on the network: its transport on -replication_port and, once started, its
/// <see cref="ReplicatedLog"/>. The transport binds first (so a test can use port 0 and learn the
/// port before the membership is known); <see cref="Start"/> joins the membership.
/// </summary>
public sealed class ReplicaNode : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers;
    private ReplicatedLog? _log;

    public ReplicaNode(ReplicaTransportOptions transport, ILoggerFactory loggers)
    {
        _loggers = loggers;

        // Messages that arrive before Start are dropped: the protocol resends what matters.
        Transport = new ReplicaTransport(transport, (from, message) => _log?.OnMessage(from, message), loggers);
    }

    public ReplicaTransport Transport { get; }

    /// <summary>The replicated log, once started.</summary>
    public ReplicatedLog Log => _log ?? throw new InvalidOperationException("the replica is not started");

    public int Port => Transport.LocalEndPoint.Port;

    /// <summary>Joins the membership and starts the consensus loop over <paramref name="storage"/>.</summary>
    public ReplicatedLog Start(ConsensusOptions options, IReplicaStorage storage, ulong appliedPosition)
    {
        Transport.Start(options.SelfId, options.Members);
        _log = new ReplicatedLog(options, storage, new TransportSender(Transport), appliedPosition, _loggers.CreateLogger($"Aurora.Replication.{options.SelfId}"));
        return _log;
    }

    public async ValueTask DisposeAsync()
    {
        if (_log is not null)
        {
            await _log.DisposeAsync().ConfigureAwait(false);
        }

        await Transport.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class TransportSender(ReplicaTransport transport) : IPeerSender
    {
        public void Send(string to, PeerMessage message) => transport.Send(to, message);
    }
}
