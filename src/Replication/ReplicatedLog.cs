using System.Threading.Channels;
using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Storage.Protos;
using Microsoft.Extensions.Logging;

namespace Aurora.Replication;

/// <summary>Sends protocol messages to peers (the TCP transport, or a test's in-memory network).</summary>
public interface IPeerSender
{
    /// <summary>Queues a message for a peer; never blocks, may drop.</summary>
    void Send(string to, PeerMessage message);
}

/// <summary>What a replica shows of itself: its status, term, leader and named positions.</summary>
/// <param name="CommitPosition">Held durably by a quorum: committed.</param>
/// <param name="DeliveredPosition">Handed to the committed stream (the state machine applies from there).</param>
/// <param name="LastPosition">Durable in this replica's log, committed or not.</param>
/// <param name="LeaderServiceUrl">Where the leader serves clients (its own when this replica leads); null when unknown.</param>
public sealed record ReplicationStatus(
    string SelfId,
    ReplicaStatus Status,
    ConsensusRole Role,
    ulong Term,
    string? LeaderId,
    bool Serving,
    ulong LastPosition,
    ulong CommitPosition,
    ulong DeliveredPosition,
    IReadOnlyList<PeerState> Peers,
    string? LeaderServiceUrl);

/// <summary>
/// What the committed stream carries: the next committed entry, or a snapshot installed from the
/// leader, which replaces the state machine's state (the next entry follows its position).
/// </summary>
public sealed record CommittedItem(LogEntry? Entry, ReplicaSnapshot? Snapshot, byte[]? SnapshotBlob);

/// <summary>Leadership as this replica sees it; <see cref="Lost"/> fires when it ends (on a leader: when it stops serving).</summary>
public sealed record Leadership(ulong Term, string? LeaderId, bool IsSelf, CancellationToken Lost);

/// <summary>
/// A replica of the log: the consensus core on its own thread, fed by the transport, a clock and
/// proposers. The API the scheduler builds on: propose a batch and learn where it committed; read
/// the committed stream; barriers for linearizable reads; status and leadership.
/// </summary>
/// <remarks>
/// <para>Threading: every call into the core runs on one loop thread, in arrival order. Proposals
/// queued while the loop is busy are proposed together, in one append and one message per
/// follower: group commit across the replicas. The leader's own appends run on the log's writer
/// thread while the loop goes on (their completions are posted back to it), and a follower takes
/// the appends queued for it while it was writing as one append and one fdatasync
/// (<see cref="ConsensusCore.ReceiveAll"/>), so a follower that falls behind catches up in one
/// step instead of one fdatasync per message, and answers heartbeats without a backlog.</para>
/// <para>Committed entries appear on <see cref="Committed"/> in position order, each once per run.
/// A leader's term-start entries (no payload) appear too; the state machine skips them.</para>
/// </remarks>
public sealed class ReplicatedLog : IConsensusHost, IAsyncDisposable
{
    private static readonly TimeSpan TickEvery = TimeSpan.FromMilliseconds(5);

    private const string ShuttingDown = "the replica is shutting down";
    private readonly IPeerSender _sender;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _started;
    // The loop's queue: a monitor, not a channel, so that waking the loop and its ticks need no
    // thread-pool thread (a pool busy with blocking work would otherwise delay heartbeats past the lease).
    private readonly object _queueGate = new();
    private List<Work> _queued = [];
    private List<Work> _drained = [];
    private readonly List<(string From, PeerMessage Message)> _messages = [];
    private readonly Channel<CommittedItem> _committed = Channel.CreateUnbounded<CommittedItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Dictionary<long, TaskCompletionSource<ProposalOutcome>> _proposals = [];
    private readonly Dictionary<long, TaskCompletionSource<ReadOutcome>> _reads = [];
    private readonly List<Proposal> _batch = [];
    private readonly ConsensusCore _core;
    private readonly Thread _loop;
    private readonly Lock _statusLock = new();
    private ReplicationStatus _status;
    private Leadership _leadership;
    private CancellationTokenSource _leadershipLost = new();
    private long _nextId;
    private StateMachineProgress? _progress;   // under _statusLock: what the state machine last reported
    private bool _stopping;        // under _queueGate
    private int _disposed;

    public ReplicatedLog(ConsensusOptions options, IReplicaStorage storage, IPeerSender sender, ulong appliedPosition, ILogger logger, TimeProvider? time = null)
    {
        _sender = sender;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _started = _time.GetTimestamp();
        _core = new ConsensusCore(options, storage, this, appliedPosition, Random.Shared.Next(), logger, Now, WallClockMicros);
        _status = Snapshot();
        _leadership = new Leadership(_core.Term, null, false, _leadershipLost.Token);
        _loop = new Thread(RunLoop) { IsBackground = true, Name = $"replication {options.SelfId}" };
        _loop.Start();
    }

    /// <summary>Committed entries in position order, and snapshots installed from the leader.</summary>
    public ChannelReader<CommittedItem> Committed => _committed.Reader;

    /// <summary>Raised on the loop thread when leadership changes; handlers must not block.</summary>
    public event Action<Leadership>? LeadershipChanged;

    public Leadership CurrentLeadership
    {
        get
        {
            lock (_statusLock)
            {
                return _leadership;
            }
        }
    }

    /// <summary>The replica's status as of its last tick (at most a few milliseconds old) or leadership change.</summary>
    public ReplicationStatus Status
    {
        get
        {
            lock (_statusLock)
            {
                return _status;
            }
        }
    }

    /// <summary>
    /// The state machine says how far it is (any thread): this replica reports it to its leader,
    /// which shows every replica's applied position and newest snapshot to operators.
    /// </summary>
    public void ReportProgress(StateMachineProgress progress)
    {
        lock (_statusLock)
        {
            _progress = progress;
        }
    }

    /// <summary>Hands a message from a peer to the core (called by the transport, any thread).</summary>
    public void OnMessage(string from, PeerMessage message) => Enqueue(new Work(null, from, message));

    /// <summary>
    /// Proposes entries to commit together. Completes with their positions once a quorum holds them,
    /// or with a failure; <see cref="ProposalOutcome.MayHaveCommitted"/> says whether a failure is final.
    /// </summary>
    public Task<ProposalOutcome> ProposeAsync(IReadOnlyList<LogEntry> entries)
    {
        var completion = new TaskCompletionSource<ProposalOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(() =>
        {
            var id = _nextId++;
            _proposals[id] = completion;
            _batch.Add(new Proposal(id, entries));
        }))
        {
            // The loop has stopped taking work: nothing of this proposal reached the log.
            completion.TrySetResult(ProposalOutcome.Failed(CurrentLeadership.Term, ShuttingDown, mayHaveCommitted: false));
        }

        return completion.Task;
    }

    /// <summary>Completes with a position: once the state machine has applied it, a read sees every write acknowledged before this call.</summary>
    public Task<ReadOutcome> ReadBarrierAsync()
    {
        var completion = new TaskCompletionSource<ReadOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(() =>
        {
            var id = _nextId++;
            _reads[id] = completion;
            _core.ReadBarrier(id);
        }))
        {
            completion.TrySetResult(new ReadOutcome(false, 0, ShuttingDown));
        }

        return completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Stop();
        await Task.Run(_loop.Join).ConfigureAwait(false);
        foreach (var proposal in _proposals.Values)
        {
            proposal.TrySetResult(ProposalOutcome.Failed(_core.Term, ShuttingDown, mayHaveCommitted: true));
        }

        foreach (var read in _reads.Values)
        {
            read.TrySetResult(new ReadOutcome(false, 0, ShuttingDown));
        }

        _committed.Writer.TryComplete();
        _leadershipLost.Cancel();
        _leadershipLost.Dispose();
    }

    private TimeSpan Now => _time.GetElapsedTime(_started);

    private long WallClockMicros() => (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>Queues an action for the loop; false once the log is stopping, when the action will never run.</summary>
    private bool Post(Action action) => Enqueue(new Work(action, null, null));

    /// <summary>
    /// False once stopping: the loop runs what was queued before, but nothing after. A caller
    /// waiting on what its work would complete must complete it itself then, or it waits forever.
    /// </summary>
    private bool Enqueue(Work work)
    {
        lock (_queueGate)
        {
            if (_stopping)
            {
                return false;
            }

            _queued.Add(work);
            if (_queued.Count == 1)
            {
                Monitor.Pulse(_queueGate);
            }

            return true;
        }
    }

    /// <summary>Takes no more work; the loop ends once it has run what was queued.</summary>
    private void Stop()
    {
        lock (_queueGate)
        {
            _stopping = true;
            Monitor.Pulse(_queueGate);
        }
    }

    /// <summary>Waits for work or the next tick; swaps what is queued into <see cref="_drained"/>. False once stopped and empty.</summary>
    private bool TakeQueued(TimeSpan nextTick)
    {
        lock (_queueGate)
        {
            while (_queued.Count == 0 && !_stopping)
            {
                var wait = nextTick - Now;
                if (wait <= TimeSpan.Zero)
                {
                    break;
                }

                // Whole milliseconds, rounded up: a timed wait takes milliseconds, and a wait of
                // less than one would be zero, so the loop would spin through the tick's last
                // millisecond (a fifth of a core on an idle replica at a 5 ms tick).
                Monitor.Wait(_queueGate, (int)Math.Ceiling(wait.TotalMilliseconds));
            }

            if (_stopping && _queued.Count == 0)
            {
                return false;
            }

            (_queued, _drained) = (_drained, _queued);
            return true;
        }
    }

    private void RunLoop()
    {
        // The loop keeps its own time: it ticks the core (elections, heartbeats, the lease) every
        // TickEvery, between batches of work. The status is refreshed with each tick, not after
        // every message: it is for operators and tests, and copying the peers' progress on the hot
        // path would cost every append.
        var nextTick = Now + TickEvery;
        while (TakeQueued(nextTick))
        {
            // Everything queued is taken at once: messages that arrived together go to the core
            // together (in order, between the actions queued among them), so that appends the
            // leader sent while this replica was busy are written as one.
            foreach (var work in _drained)
            {
                if (work.Action is { } action)
                {
                    ReceiveMessages();
                    Run(action);
                }
                else
                {
                    _messages.Add((work.From!, work.Message!));
                }
            }

            ReceiveMessages();
            _drained.Clear();

            // Everything queued has been read: what proposals it carried go out as one append.
            if (_batch.Count > 0)
            {
                var batch = _batch.ToList();
                _batch.Clear();
                Run(() => _core.Propose(batch));
            }

            if (Now >= nextTick)
            {
                Run(Tick);
                nextTick = Now + TickEvery;
            }
        }
    }

    private void ReceiveMessages()
    {
        if (_messages.Count > 0)
        {
            Run(() => _core.ReceiveAll(_messages, Now));
            _messages.Clear();
        }
    }

    private void Run(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            // A broken invariant or a failed disk: this replica must not go on as if nothing happened.
            _logger.LogCritical(e, "the replication loop failed; this replica stops taking part");
            Stop();
            throw;
        }
    }

    private void Tick()
    {
        _core.Tick(Now);
        RefreshStatus();
    }

    private void RefreshStatus()
    {
        lock (_statusLock)
        {
            _status = Snapshot();
        }
    }

    private ReplicationStatus Snapshot() => new(
        _core.SelfId, _core.Status, _core.Role, _core.Term, _core.LeaderId, _core.IsServing,
        _core.LastPosition, _core.CommitPosition, _core.AppliedPosition, _core.Peers, _core.LeaderServiceUrl);

    void IConsensusHost.Send(string to, PeerMessage message) => _sender.Send(to, message);

    StateMachineProgress? IConsensusHost.Progress
    {
        get
        {
            lock (_statusLock)
            {
                return _progress;
            }
        }
    }

    void IConsensusHost.Deliver(LogEntry entry) => _committed.Writer.TryWrite(new CommittedItem(entry, null, null));

    void IConsensusHost.SnapshotInstalled(ReplicaSnapshot snapshot, byte[] blob) => _committed.Writer.TryWrite(new CommittedItem(null, snapshot, blob));

    void IConsensusHost.ProposalResolved(long proposalId, ProposalOutcome outcome)
    {
        if (_proposals.Remove(proposalId, out var completion))
        {
            completion.TrySetResult(outcome);
        }
    }

    void IConsensusHost.ReadResolved(long readId, ReadOutcome outcome)
    {
        if (_reads.Remove(readId, out var completion))
        {
            completion.TrySetResult(outcome);
        }
    }

    void IConsensusHost.WhenWritten(Task write, Action continuation)
    {
        // Once stopping, the continuation is dropped: DisposeAsync fails the proposals it would have counted.
        write.ContinueWith(written => { _ = Post(continuation); }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    void IConsensusHost.LeadershipChanged(LeadershipChange change)
    {
        Leadership next;
        lock (_statusLock)
        {
            var wasSelf = _leadership.IsSelf;
            if (wasSelf != change.IsSelf || _leadership.Term != change.Term || _leadership.LeaderId != change.LeaderId)
            {
                _leadershipLost.Cancel();
                _leadershipLost.Dispose();
                _leadershipLost = new CancellationTokenSource();
            }

            _leadership = next = new Leadership(change.Term, change.LeaderId, change.IsSelf, _leadershipLost.Token);
        }

        RefreshStatus();
        LeadershipChanged?.Invoke(next);
    }
}

/// <summary>An action for the loop, or a message from a peer.</summary>
internal readonly record struct Work(Action? Action, string? From, PeerMessage? Message);
