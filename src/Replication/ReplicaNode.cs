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
    /// <summary>Room for a message's fields around its entries or chunk.</summary>
    private const int MessageOverheadBytes = 64 * 1024;

    private readonly ILoggerFactory _loggers;
    private readonly ReplicaTransportOptions _transportOptions;
    private ReplicatedLog? _log;

    public ReplicaNode(ReplicaTransportOptions transport, ILoggerFactory loggers)
    {
        _loggers = loggers;
        _transportOptions = transport;

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
        // A message the transport can never queue or frame would be dropped on every try.
        var largest = Math.Max(options.MaxAppendBytes, options.SnapshotChunkBytes) + MessageOverheadBytes;
        var room = Math.Min(_transportOptions.MaxQueuedBytesPerPeer, _transportOptions.MaxFrameBytes);
        if (largest > room)
        {
            throw new ArgumentException(
                $"appends of {options.MaxAppendBytes} bytes and snapshot chunks of {options.SnapshotChunkBytes} bytes do not fit the transport's "
                + $"{_transportOptions.MaxFrameBytes}-byte frames and {_transportOptions.MaxQueuedBytesPerPeer}-byte queues", nameof(options));
        }

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
