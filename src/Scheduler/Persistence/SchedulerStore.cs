using System.Diagnostics;
using System.Threading.Channels;
using Aurora.Replication;
using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Replication.Storage;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Aurora.Scheduler.Persistence;

/// <summary>How the store was opened: the snapshot it started from and the entries applied before it served.</summary>
public sealed record StoreRecovery(SnapshotInfo? Snapshot, long EntriesReplayed, IReadOnlyList<SnapshotProblem> SkippedSnapshots);

/// <summary>
/// The scheduler's state on its replicated log, on every replica: one apply loop folds the log's
/// committed stream into the state readers see, and on the leader a write pipeline decides
/// commands, proposes them in batches and answers each once it is committed and applied. A lone
/// replica runs the same code on a replicated log whose quorum is itself.
/// </summary>
/// <remarks>
/// <para><b>Two copies of the state.</b> <c>_state</c> is the committed state: only the apply loop
/// changes it, from the committed stream, and every reader reads it, so no reader ever sees a
/// decision that is not committed. <c>_decisions</c> is the committed state plus the decisions this
/// leader has proposed and not yet seen applied: each queued command is decided against it, so it
/// sees every command decided before it, and the batch is proposed while earlier batches are still
/// committing. On followers the apply loop folds each committed entry into both copies, so a new
/// leader decides at once, with no replay. We chose this over a read fence on one state (every read
/// in the server would have to wait for the commit, and a failed proposal would leave the one state
/// wrong) and over an overlay of pending events (every query of the domain would have to consult
/// it). It costs a second copy of the state and a second apply on each replica. Except while a
/// store that opened replays the entries its own log already held: the decision copy is built once,
/// by <see cref="SchedulerState.Clone"/>, when the apply loop has reached the end of that log (or
/// by the first election before that), instead of applying every replayed entry twice.</para>
/// <para><b>When a proposal fails</b> (an I/O error, lost leadership) every later one of the term
/// fails too (the log keeps order). Their commands are answered with <see cref="NotLeaderException"/>;
/// answers that were decided after them (refusals, no-ops) wait for them and fail with them; and
/// <c>_decisions</c> is rebuilt from the committed state, so nothing built on them is applied.</para>
/// <para>Threading: every public member may be called from any thread. Lock order: the decision
/// lock, then the state lock. An entry that cannot be applied after it was committed means the log
/// and the state diverged: the store fails permanently and every later call throws with that cause.</para>
/// </remarks>
public sealed class SchedulerStore : ICommandExecutor, IAsyncDisposable, IDisposable
{
    /// <summary>The replica id of a lone replica (no -native_log_replicas).</summary>
    public const string LoneReplicaId = "local";

    /// <summary>Most commands decided into one proposal.</summary>
    private const int MaxBatch = 256;

    private readonly SchedulerStoreOptions _options;
    private readonly LogReplicaStorage _storage;
    private readonly ReaderWriterLockSlim _stateLock = new(LockRecursionPolicy.NoRecursion);
    private readonly Lock _decisionLock = new();
    private readonly SemaphoreSlim _snapshotGate = new(1, 1);
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _applyLoopStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstWriter = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _leadershipGate = new();
    private ReplicatedLog _replication = null!;
    private SchedulerState _state;
    private SchedulerState _decisions;
    private TaskCompletionSource _changed = NewSignal();
    private ulong _appliedPosition;
    private ulong _lastSubstantivePosition;   // the newest applied entry that was not only a snapshot marker
    private ulong _lastSnapshotPosition;      // the newest snapshot this store wrote or installed (0 after opening: the first is always taken)
    private ulong _decidingTerm;               // under _decisionLock: the term whose own entries _decisions holds ahead of the commit
    private int _ownUncommitted;               // under _decisionLock: entries decided in _decidingTerm not yet applied
    private bool _decisionsDirty;              // under _decisionLock: _decisions must be rebuilt before it is decided on
    private ulong _decisionsBuiltAt;           // under _decisionLock: while dirty after opening, the position at which the apply loop builds _decisions (0: never)
    private Writer? _writer;                   // the leader's pipeline; null on followers
    private long _entriesApplied;
    private Exception? _failure;
    private int _disposed;

    /// <param name="replayEnd">The last entry of the log as it was opened: the decision copy is built once it is applied.</param>
    private SchedulerStore(SchedulerStoreOptions options, LogReplicaStorage storage, SnapshotStore snapshots, SchedulerState state, ulong position, ulong replayEnd, StoreRecovery recovery)
    {
        _options = options;
        _storage = storage;
        Snapshots = snapshots;
        Recovery = recovery;
        _state = state;
        if (replayEnd > position)
        {
            // Built when the replay of the log's own entries is done (Apply), not folded entry by entry.
            _decisions = new SchedulerState();
            _decisionsDirty = true;
            _decisionsBuiltAt = replayEnd;
        }
        else
        {
            _decisions = state.Clone();
        }

        _appliedPosition = position;
        _lastSubstantivePosition = position;
        _logger = options.Logger;
    }

    /// <summary>How the state was rebuilt on open.</summary>
    public StoreRecovery Recovery { get; private set; }

    public SnapshotStore Snapshots { get; }

    public SegmentedLog Log => _storage.Log;

    /// <summary>The replicated log this store applies from and proposes to: leadership, terms and named positions.</summary>
    public ReplicatedLog Replication => _replication;

    internal ILogger Logger => _logger;

    /// <summary>The last log position folded into the (committed) state.</summary>
    public ulong AppliedPosition => Volatile.Read(ref _appliedPosition);

    /// <summary>Where the leader's writes spend their time, stage by stage (empty on a replica that never led).</summary>
    public WritePipelineTimings Timings { get; } = new();

    /// <summary>True once this replica leads and has caught up: commands are decided here.</summary>
    public bool IsWritable => Volatile.Read(ref _writer) is { Ready.Task.IsCompletedSuccessfully: true };

    /// <summary>Completes once a transaction after <paramref name="position"/> has been applied (at once if one already was).</summary>
    /// <remarks>How loops and long-polling agents wait for news without polling the state.</remarks>
    public Task WaitForChangeAsync(ulong position, CancellationToken cancellationToken = default)
    {
        // Read the signal before the position: an apply in between completes this very signal.
        var changed = Volatile.Read(ref _changed);
        return AppliedPosition > position ? Task.CompletedTask : changed.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Opens a lone replica (quorum 1) and returns once it leads and has applied its whole log.</summary>
    /// <exception cref="ReplicaEmptyException">The replica is not initialized.</exception>
    /// <exception cref="StorageNotReadyException">The state cannot be rebuilt; the message says what to do.</exception>
    public static SchedulerStore Open(SchedulerStoreOptions options) => OpenAsync(options).GetAwaiter().GetResult();

    /// <summary>
    /// Opens the replica's log, loads its newest snapshot and starts the replicated log with
    /// <paramref name="replicate"/> (given the storage and the position the state holds), or a
    /// lone replica when it is null. A lone replica returns once it is writable; a member of a
    /// replicated cluster at once (it applies what the leader commits, and leads when elected).
    /// </summary>
    public static async Task<SchedulerStore> OpenAsync(
        SchedulerStoreOptions options, Func<LogReplicaStorage, ulong, ReplicatedLog>? replicate = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var metadataStore = new ReplicaMetadataStore(options.FileSystem, options.Directory);
        var metadata = LoadMetadata(metadataStore);
        if (replicate is null && metadata.Status != ReplicaStatus.Voting)
        {
            throw new ReplicaEmptyException(options.Directory);
        }

        var log = SegmentedLog.Open(options.LogOptions());
        SchedulerStore? store = null;
        try
        {
            var snapshots = new SnapshotStore(options.SnapshotOptions());
            var skipped = new List<SnapshotProblem>();
            var (state, snapshot) = StateReplayer.StartingPoint(log, snapshots, ulong.MaxValue, long.MaxValue, skipped);
            var position = snapshot?.Position ?? 0;
            if (position + 1 < log.FirstRetainedPosition && position < log.LastDurablePosition)
            {
                throw new ReplayUnavailableException(
                    $"the log before position {log.FirstRetainedPosition} was truncated and no retained snapshot covers position {position + 1}");
            }

            foreach (var problem in skipped)
            {
                PersistenceMessages.SnapshotSkipped(options.Logger, problem.Path, problem.Problem);
            }

            var storage = new LogReplicaStorage(log, snapshots, metadataStore);
            store = new SchedulerStore(options, storage, snapshots, state, position, log.LastDurablePosition, new StoreRecovery(snapshot, 0, skipped));
            store.Start(replicate?.Invoke(storage, position) ?? LoneReplica(options, storage, position));
            if (replicate is null)
            {
                // A lone replica elects itself at its first tick.
                await store._firstWriter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                await store.WaitWritableAsync(cancellationToken).ConfigureAwait(false);
                store.Recovery = store.Recovery with { EntriesReplayed = Interlocked.Read(ref store._entriesApplied) };
                PersistenceMessages.Recovered(options.Logger, store.AppliedPosition, position, store.Recovery.EntriesReplayed, store.Read(s => s.TaskCount));
            }

            return store;
        }
        catch (Exception e)
        {
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                log.Dispose();
            }

            if (e is EventApplyException or ReplayUnavailableException or InvalidDataException)
            {
                throw new StorageNotReadyException($"the state cannot be rebuilt from {options.Directory}: {e.Message}", e);
            }

            throw;
        }
    }

    /// <summary>
    /// Waits until this replica leads and has applied everything committed before its term, so that
    /// its reads and decisions see every acknowledged write.
    /// </summary>
    /// <exception cref="NotLeaderException">Another replica leads, or none does yet.</exception>
    public async Task WaitWritableAsync(CancellationToken cancellationToken = default) => await WriterAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The pipeline of the term this replica leads in, once it is ready.</summary>
    private async Task<Writer> WriterAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ThrowIfFailed();
            var leadership = _replication.CurrentLeadership;
            if (!leadership.IsSelf)
            {
                throw NotLeader();
            }

            if (Volatile.Read(ref _writer) is { } writer && writer.Leadership.Term == leadership.Term)
            {
                await writer.Ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                return writer;
            }

            // Elected a moment ago: the handler that starts the pipeline runs right after.
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Decides the command; commits and applies its events; returns the decision once committed and applied.</summary>
    /// <exception cref="CommandRejectedException">The command was refused; nothing was written.</exception>
    /// <exception cref="NotLeaderException">This replica does not lead, or stopped leading before the entry committed.</exception>
    public async Task<Decision> ExecuteAsync(SchedulerCommand command, string principal, CancellationToken cancellationToken = default) =>
        (await CommitAsync(command, principal, cancellationToken).ConfigureAwait(false)).Decision;

    /// <summary>As <see cref="ExecuteAsync"/>, also saying which log entry recorded the decision.</summary>
    public async Task<Committed> CommitAsync(SchedulerCommand command, string principal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentException.ThrowIfNullOrEmpty(principal);
        var writer = await WriterAsync(cancellationToken).ConfigureAwait(false);
        var pending = new PendingCommand(command, principal);
        if (!writer.Queue.Writer.TryWrite(pending))
        {
            throw NotLeader();
        }

        return await pending.Answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="read"/> against a consistent committed state (no transaction half-applied).</summary>
    /// <remarks>What <paramref name="read"/> returns must not be a live view of the state: copy what you need.</remarks>
    public T Read<T>(Func<SchedulerState, ulong, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        _stateLock.EnterReadLock();
        try
        {
            ThrowIfFailed();
            return read(_state, _appliedPosition);
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }

    public T Read<T>(Func<SchedulerState, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        return Read((state, _) => read(state));
    }

    /// <summary>
    /// Writes a snapshot of the applied state (unless nothing but snapshot markers was applied since
    /// the previous one), records a <c>SnapshotCommitted</c> marker for auditors when this replica
    /// leads, and truncates this replica's log behind the oldest snapshot kept. Returns the
    /// snapshot, or null when there was nothing to snapshot.
    /// </summary>
    /// <remarks>Every replica snapshots its own applied state; writers go on deciding meanwhile.</remarks>
    public async Task<SnapshotInfo?> TakeSnapshotAsync(CancellationToken cancellationToken = default)
    {
        await _snapshotGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            StateCapture capture;
            ulong position;
            ulong term;
            _stateLock.EnterReadLock();
            try
            {
                ThrowIfFailed();
                position = _appliedPosition;
                if (position == 0 || _lastSubstantivePosition <= _lastSnapshotPosition)
                {
                    return null;
                }

                // The term of the entry the snapshot ends at: a follower installing it continues its
                // log after that entry. Asked before a later prefix truncation could remove it.
                term = _storage.Log.TermAt(position);

                // Only the capture holds the apply loop back (about 25 ms per 100,000 tasks): the
                // snapshot is built and encoded from it while entries go on being applied.
                capture = _state.Capture();
            }
            finally
            {
                _stateLock.ExitReadLock();
            }

            // Encoded straight into the file, a chunk at a time: no message tree, no whole copy in
            // memory, and no more than a chunk queued ahead of the log's appends (StateCapture.Encoder).
            var encoder = capture.Encoder();
            var hash = Array.Empty<byte>();
            var info = Snapshots.Write(position, term, SchedulerState.SnapshotBlobType, (ulong)encoder.Length, sink => hash = encoder.WriteTo(sink));
            Volatile.Write(ref _lastSnapshotPosition, position);
            ReportProgress();
            PersistenceMessages.SnapshotWritten(_logger, position, encoder.Length, SchedulerState.FormatHash(hash));
            if (_replication.CurrentLeadership.IsSelf)
            {
                try
                {
                    // Only the leader records markers: auditors see one per snapshot the leader took.
                    await CommitAsync(new RecordSnapshot(position, hash), Principals.Scheduler, cancellationToken).ConfigureAwait(false);
                }
                catch (NotLeaderException)
                {
                    // Leadership moved on while the snapshot was written; the snapshot stands.
                }
            }

            if (_options.TruncateLogBehindSnapshots && Snapshots.List() is { Count: > 0 } kept)
            {
                var oldest = kept.Min(s => s.Position);
                _storage.Log.TruncatePrefix(oldest + 1);
            }

            return info;
        }
        finally
        {
            _snapshotGate.Release();
        }
    }

    /// <summary>The state hash at the applied position (SHA-256 of the canonical snapshot encoding).</summary>
    public byte[] StateHash() => Read(state => state.StateHash());

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_replication is not null)
        {
            // Ends leadership (its pipeline fails what is queued) and completes the committed stream.
            await _replication.DisposeAsync().ConfigureAwait(false);
            await _applyLoopStopped.Task.ConfigureAwait(false);
            if (Volatile.Read(ref _writer) is { } writer)
            {
                await writer.Stopped.ConfigureAwait(false);
            }
        }

        _storage.Log.Dispose();
        _stateLock.Dispose();
        _snapshotGate.Dispose();
    }

    /// <summary>Tells the replicated log how far this replica is, for the leader's view of every replica.</summary>
    private void ReportProgress() => _replication.ReportProgress(new StateMachineProgress(
        AppliedPosition,
        Math.Max(Volatile.Read(ref _lastSnapshotPosition), Recovery.Snapshot?.Position ?? 0)));

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A transaction holding only snapshot markers: applying it is no reason to snapshot again.</summary>
    private static bool IsSnapshotMarker(Transaction transaction)
    {
        foreach (var e in transaction.Events)
        {
            if (e.KindCase != Event.KindOneofCase.SnapshotCommitted)
            {
                return false;
            }
        }

        return true;
    }

    private static ReplicatedLog LoneReplica(SchedulerStoreOptions options, LogReplicaStorage storage, ulong position)
    {
        var consensus = new ConsensusOptions
        {
            SelfId = LoneReplicaId,
            Members = [LoneReplicaId],
            Quorum = 1,
            MaxAppendBytes = Math.Max(1 << 20, options.MaxEntrySize),
        };

        // Consensus keeps real time whatever clock the scheduler decides with: elections and the
        // loop's ticks are not part of the state.
        return new ReplicatedLog(consensus, storage, NoPeers.Instance, position, options.Logger);
    }

    private void Start(ReplicatedLog replication)
    {
        _replication = replication;
        ReportProgress();
        replication.LeadershipChanged += OnLeadershipChanged;

        // An election before the handler was attached is seen here (the handler ignores repeats).
        OnLeadershipChanged(replication.CurrentLeadership);
        _ = Task.Run(ApplyLoopAsync);
    }

    /// <summary>The refusal of a write here: who leads instead, as far as this replica knows.</summary>
    public NotLeaderException NotLeader()
    {
        var leadership = _replication.CurrentLeadership;
        return new NotLeaderException(
            leadership.LeaderId is { } leader && !leadership.IsSelf
                ? $"this replica does not lead; the leader is {leader} (term {leadership.Term})"
                : $"this replica does not lead and no leader is known (term {leadership.Term}); retry once one is elected",
            leadership.IsSelf ? null : leadership.LeaderId);
    }

    // ---- the apply loop: the one path by which committed entries change the state ----

    private async Task ApplyLoopAsync()
    {
        try
        {
            var committed = _replication.Committed;
            while (await committed.WaitToReadAsync().ConfigureAwait(false))
            {
                while (committed.TryRead(out var item))
                {
                    if (item.Entry is { } entry)
                    {
                        Apply(entry);
                    }
                    else
                    {
                        Install(item.Snapshot!, item.SnapshotBlob!);
                    }
                }

                // Waiters wake once per batch the log delivered, not once per entry.
                Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
                ReportProgress();
            }
        }
        catch (Exception e)
        {
            // Committed but not applicable: the log and the state diverged. Serving on would answer
            // from a state the log does not describe.
            Volatile.Write(ref _failure, e);
            PersistenceMessages.Diverged(_logger, e, AppliedPosition + 1);
            _options.OnFatalError?.Invoke(e);
            Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
        }
        finally
        {
            _applyLoopStopped.TrySetResult();
        }
    }

    private void Apply(LogEntry entry)
    {
        var info = TransactionCodec.Info(entry);
        var transaction = TransactionCodec.IsTermStart(entry) ? null : TransactionCodec.Decode(entry);
        lock (_decisionLock)
        {
            _stateLock.EnterWriteLock();
            try
            {
                if (transaction is not null)
                {
                    _state.Apply(info, transaction);
                }

                Volatile.Write(ref _appliedPosition, entry.Position);
            }
            finally
            {
                _stateLock.ExitWriteLock();
            }

            if (transaction is not null)
            {
                FoldIntoDecisions(entry, info, transaction);
                if (!IsSnapshotMarker(transaction))
                {
                    Volatile.Write(ref _lastSubstantivePosition, entry.Position);
                }
            }

            if (_decisionsDirty && _decisionsBuiltAt != 0 && entry.Position >= _decisionsBuiltAt && _decidingTerm == 0)
            {
                // The replay of what the log held when the store opened is done.
                RebuildDecisions();
            }
        }

        Interlocked.Increment(ref _entriesApplied);
    }

    /// <summary>Keeps the decision copy equal to the committed state plus this leader's own pending entries (under the decision lock).</summary>
    private void FoldIntoDecisions(LogEntry entry, TransactionInfo info, Transaction transaction)
    {
        if (entry.Term == _decidingTerm)
        {
            // This leader decided it: the decision copy has held it since.
            _ownUncommitted--;
            return;
        }

        if (_decisionsDirty)
        {
            return;
        }

        try
        {
            _decisions.Apply(info, transaction);
        }
        catch (EventApplyException e)
        {
            // Only a copy polluted by decisions that never committed can refuse a committed entry.
            _decisionsDirty = true;
            _logger.LogWarning(e, "the decision copy of the state refused committed entry {Position}; it is rebuilt before this replica next decides", entry.Position);
        }
    }

    private void Install(ReplicaSnapshot snapshot, byte[] blob)
    {
        // The leader sent its snapshot because this replica was behind its log: both copies start over from it.
        var state = SchedulerState.FromSnapshot(SchedulerSnapshot.Parser.ParseFrom(blob));
        var decisions = state.Clone();
        lock (_decisionLock)
        {
            _stateLock.EnterWriteLock();
            try
            {
                _state = state;
                Volatile.Write(ref _appliedPosition, snapshot.Position);
                _lastSubstantivePosition = snapshot.Position;
                _lastSnapshotPosition = snapshot.Position;
            }
            finally
            {
                _stateLock.ExitWriteLock();
            }

            _decisions = decisions;
            _decisionsDirty = false;
            _decidingTerm = 0;
            _ownUncommitted = 0;
        }
    }

    /// <summary>Makes the decision copy equal to the committed state again (under the decision lock).</summary>
    private void RebuildDecisions()
    {
        _stateLock.EnterReadLock();
        try
        {
            _decisions = _state.Clone();
        }
        finally
        {
            _stateLock.ExitReadLock();
        }

        _decisionsDirty = false;
        _decisionsBuiltAt = 0;
        _decidingTerm = 0;
        _ownUncommitted = 0;
    }

    private async Task WaitAppliedAsync(ulong position, CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = Volatile.Read(ref _changed);
            ThrowIfFailed();
            if (AppliedPosition >= position)
            {
                return;
            }

            await changed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // ---- leadership and the write pipeline ----

    private void OnLeadershipChanged(Leadership leadership)
    {
        // On the replication loop's thread: nothing here may block.
        if (!leadership.IsSelf || leadership.Lost.IsCancellationRequested)
        {
            return;
        }

        lock (_leadershipGate)
        {
            var previous = Volatile.Read(ref _writer);
            if (previous is not null && previous.Leadership.Term >= leadership.Term)
            {
                return;
            }

            var writer = new Writer(leadership);
            writer.Stopped = Task.Run(() => LeadAsync(writer, previous));
            Volatile.Write(ref _writer, writer);
            _firstWriter.TrySetResult();
        }
    }

    private async Task LeadAsync(Writer writer, Writer? previous)
    {
        var leadership = writer.Leadership;
        try
        {
            if (previous is not null)
            {
                // The last term's pipeline must have settled (and rebuilt the decision copy if it had to).
                await previous.Stopped.ConfigureAwait(false);
            }

            // Everything committed before this term must be applied before deciding on it.
            var barrier = await _replication.ReadBarrierAsync().ConfigureAwait(false);
            if (!barrier.Ok)
            {
                throw new NotLeaderException($"this replica was elected in term {leadership.Term} but could not confirm it: {barrier.Failure}", null);
            }

            await WaitAppliedAsync(barrier.Position, leadership.Lost).ConfigureAwait(false);
            lock (_decisionLock)
            {
                if (_decisionsDirty || _ownUncommitted != 0)
                {
                    RebuildDecisions();
                }

                _decidingTerm = leadership.Term;
            }

            writer.Ready.TrySetResult();
            await DecideLoopAsync(writer).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or NotLeaderException or ChannelClosedException or StorageNotReadyException)
        {
            // Leadership ended (or the store failed); what is queued is refused below.
        }
        catch (Exception e)
        {
            _logger.LogCritical(e, "the write pipeline of term {Term} failed; this replica takes no more writes in it", leadership.Term);
        }
        finally
        {
            var refusal = NotLeader();
            writer.Ready.TrySetException(refusal);
            writer.Queue.Writer.TryComplete();
            while (writer.Queue.Reader.TryRead(out var queued))
            {
                queued.Answer.TrySetException(refusal);
            }

            // Proposals in flight fail (or commit) once the log settles them.
            await writer.LastBatch.ConfigureAwait(false);
            lock (_decisionLock)
            {
                if (_decidingTerm == leadership.Term)
                {
                    if (_ownUncommitted != 0 || _decisionsDirty)
                    {
                        RebuildDecisions();
                    }

                    _decidingTerm = 0;
                }
            }
        }
    }

    private async Task DecideLoopAsync(Writer writer)
    {
        var leadership = writer.Leadership;
        var reader = writer.Queue.Reader;
        var commands = new List<PendingCommand>();
        while (await reader.WaitToReadAsync(leadership.Lost).ConfigureAwait(false))
        {
            commands.Clear();
            while (commands.Count < MaxBatch && reader.TryRead(out var queued))
            {
                commands.Add(queued);
            }

            var batch = DecideBatch(writer, commands);
            if (batch.Entries.Count > 0)
            {
                batch.Proposed = Stopwatch.GetTimestamp();
                foreach (var (pending, _) in batch.Commands)
                {
                    Timings.Decide.Record(Stopwatch.GetElapsedTime(pending.Arrived, batch.Proposed));
                }

                var proposal = _replication.ProposeAsync(batch.Entries);
                writer.LastBatch = CompleteBatchAsync(proposal, batch);
            }
            else
            {
                batch.Done.TrySetResult(true);
            }

            if (batch.DecisionsBroken)
            {
                // A decision that did not apply to the decision copy: wait for what was proposed, then start it over.
                await writer.LastBatch.ConfigureAwait(false);
                lock (_decisionLock)
                {
                    RebuildDecisions();
                    _decidingTerm = leadership.Term;
                }
            }
        }
    }

    /// <summary>Decides the commands in order against the decision copy (each sees those before it); the entries to propose.</summary>
    private Batch DecideBatch(Writer writer, List<PendingCommand> commands)
    {
        var batch = new Batch();
        lock (_decisionLock)
        {
            if (writer.Leadership.Lost.IsCancellationRequested || _decidingTerm != writer.Leadership.Term)
            {
                var refusal = NotLeader();
                commands.ForEach(c => c.Answer.TrySetException(refusal));
                return batch;
            }

            var now = _options.Time.GetUtcNow();
            foreach (var pending in commands)
            {
                if (batch.DecisionsBroken)
                {
                    pending.Answer.TrySetException(new NotLeaderException("the leader is rebuilding its decision state; retry", null));
                    continue;
                }

                // An answer that no entry carries still depends on the decisions before it: it waits for them.
                var fence = batch.Entries.Count > 0 ? batch.Done.Task : _ownUncommitted > 0 ? writer.LastBatch : null;
                var context = new CommandContext(pending.Principal, now, _options.Settings, _options.Ids);
                Decision decision;
                try
                {
                    decision = pending.Command.Decide(_decisions, context);
                }
                catch (Exception e)
                {
                    AnswerAfter(fence, pending, () => throw e);
                    continue;
                }

                if (!decision.ChangesState)
                {
                    AnswerAfter(fence, pending, () => new Committed(decision, 0));
                    continue;
                }

                var transaction = new Transaction();
                transaction.Events.AddRange(decision.Events);
                var entry = TransactionCodec.Encode(transaction, pending.Principal, context.NowMicros, term: 0);
                try
                {
                    _decisions.Apply(new TransactionInfo(0, context.NowMicros, pending.Principal), transaction);
                }
                catch (EventApplyException e)
                {
                    // The decision contradicts the state it was made on: a defect, refused before it reaches the log.
                    _decisionsDirty = true;
                    batch.DecisionsBroken = true;
                    _logger.LogError(e, "a {Command} decision does not apply to the state it was decided on; it is refused", pending.Command.GetType().Name);
                    pending.Answer.TrySetException(new InvalidOperationException($"the decision does not apply to the state: {e.Message}", e));
                    continue;
                }

                _ownUncommitted++;
                batch.Entries.Add(entry);
                batch.Commands.Add((pending, decision));
            }
        }

        return batch;
    }

    private static void AnswerAfter(Task<bool>? fence, PendingCommand pending, Func<Committed> answer)
    {
        if (fence is null)
        {
            Answer(pending, answer);
            return;
        }

        fence.ContinueWith(
            done =>
            {
                if (done.Result)
                {
                    Answer(pending, answer);
                }
                else
                {
                    pending.Answer.TrySetException(new NotLeaderException("the writes this answer depended on were not committed; retry", null));
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static void Answer(PendingCommand pending, Func<Committed> answer)
    {
        try
        {
            pending.Answer.TrySetResult(answer());
        }
        catch (Exception e)
        {
            pending.Answer.TrySetException(e);
        }
    }

    private async Task<bool> CompleteBatchAsync(Task<ProposalOutcome> proposal, Batch batch)
    {
        var outcome = await proposal.ConfigureAwait(false);
        if (outcome.Committed)
        {
            var committed = Stopwatch.GetTimestamp();
            Timings.Commit.Record(Stopwatch.GetElapsedTime(batch.Proposed, committed));
            try
            {
                await WaitAppliedAsync(outcome.LastPosition, CancellationToken.None).ConfigureAwait(false);
                Timings.Apply.Record(Stopwatch.GetElapsedTime(committed));
            }
            catch (StorageNotReadyException e)
            {
                batch.Commands.ForEach(c => c.Pending.Answer.TrySetException(e));
                batch.Done.TrySetResult(false);
                return false;
            }

            for (var i = 0; i < batch.Commands.Count; i++)
            {
                var (pending, decision) = batch.Commands[i];
                pending.Answer.TrySetResult(new Committed(decision, outcome.FirstPosition + (ulong)i));
            }

            batch.Done.TrySetResult(true);
            return true;
        }

        var leader = _replication.CurrentLeadership.LeaderId;
        var error = new NotLeaderException(
            outcome.MayHaveCommitted
                ? $"the write may or may not be committed: {outcome.Failure}. Read the state before retrying"
                : $"the write was not committed: {outcome.Failure}",
            leader,
            outcome.MayHaveCommitted);
        batch.Commands.ForEach(c => c.Pending.Answer.TrySetException(error));
        batch.Done.TrySetResult(false);
        return false;
    }

    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw new StorageNotReadyException($"the state diverged from the log at an earlier entry: {failure.Message}", failure);
        }
    }

    private static ReplicaMetadata LoadMetadata(ReplicaMetadataStore store)
    {
        try
        {
            return store.Load();
        }
        catch (InvalidDataException e)
        {
            throw new StorageNotReadyException(e.Message, e);
        }
    }

    private sealed class PendingCommand(SchedulerCommand command, string principal)
    {
        public SchedulerCommand Command { get; } = command;

        public string Principal { get; } = principal;

        /// <summary>When the command reached the pipeline (a <see cref="Stopwatch"/> timestamp).</summary>
        public long Arrived { get; } = Stopwatch.GetTimestamp();

        public TaskCompletionSource<Committed> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One proposal's commands: decided together, committed together.</summary>
    private sealed class Batch
    {
        public List<LogEntry> Entries { get; } = [];

        public List<(PendingCommand Pending, Decision Decision)> Commands { get; } = [];

        /// <summary>True once the batch is committed and applied here; false when it failed.</summary>
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool DecisionsBroken { get; set; }

        /// <summary>When the batch was proposed (a <see cref="Stopwatch"/> timestamp).</summary>
        public long Proposed { get; set; }
    }

    /// <summary>The write pipeline of one term on the leader.</summary>
    private sealed class Writer(Leadership leadership)
    {
        public Leadership Leadership { get; } = leadership;

        /// <summary>Completes once the leader has applied what was committed before its term; fails if it never does.</summary>
        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Channel<PendingCommand> Queue { get; } = Channel.CreateUnbounded<PendingCommand>(new UnboundedChannelOptions { SingleReader = true });

        /// <summary>The newest proposal's completion: true once committed and applied.</summary>
        public Task<bool> LastBatch { get; set; } = Task.FromResult(true);

        public Task Stopped { get; set; } = Task.CompletedTask;
    }

    /// <summary>A lone replica has nobody to send to.</summary>
    private sealed class NoPeers : IPeerSender
    {
        public static NoPeers Instance { get; } = new();

        public void Send(string to, PeerMessage message)
        {
        }
    }
}

/// <summary>A command's decision and the log position of the entry that recorded it (0 when it changed nothing).</summary>
public readonly record struct Committed(Decision Decision, ulong Position);
