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

/// <summary>
/// The scheduler's state on its durable log: opens by loading the newest snapshot and replaying the
/// tail, executes commands (decide, append, apply), serves consistent reads, and takes snapshots,
/// truncating the log behind the oldest one kept.
/// </summary>
/// <remarks>
/// <para>Write path: commands are serialized. Each is decided against the applied state, its events
/// are appended as one log entry, and only after the entry is durable are they applied and the
/// command acknowledged. A failed append leaves the state untouched (the log rewinds). This is
/// the seam where replication will put a quorum commit instead of a local append.</para>
/// <para>Threading: <see cref="ExecuteAsync"/> and <see cref="TakeSnapshotAsync"/> may be called from
/// any thread; <see cref="Read{T}"/> from any thread, concurrently, and never sees a half-applied
/// transaction. An entry that cannot be applied after it was committed means the log and the state
/// diverged: the store fails permanently and every later call throws with that cause.</para>
/// </remarks>
public sealed class SchedulerStore : ICommandExecutor, IDisposable
{
    /// <summary>The principal of entries the scheduler writes on its own behalf.</summary>

    private readonly SchedulerStoreOptions _options;
    private readonly SegmentedLog _log;
    private readonly SchedulerState _state;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly ReaderWriterLockSlim _stateLock = new(LockRecursionPolicy.NoRecursion);
    private readonly ILogger _logger;
    private TaskCompletionSource _changed = NewSignal();
    private ulong _appliedPosition;
    private ulong _lastMarkerPosition;
    private Exception? _failure;

    private SchedulerStore(SchedulerStoreOptions options, SegmentedLog log, SnapshotStore snapshots, ReplayResult recovery)
    {
        _options = options;
        _log = log;
        Snapshots = snapshots;
        Recovery = recovery;
        _state = recovery.State;
        _appliedPosition = recovery.AppliedPosition;
        _logger = options.Logger;
    }

    /// <summary>How the state was rebuilt on open.</summary>
    public ReplayResult Recovery { get; }

    public SnapshotStore Snapshots { get; }

    public SegmentedLog Log => _log;

    internal ILogger Logger => _logger;

    /// <summary>The last log position folded into the state.</summary>
    public ulong AppliedPosition => Volatile.Read(ref _appliedPosition);

    /// <summary>Completes once a transaction after <paramref name="position"/> has been applied (at once if one already was).</summary>
    /// <remarks>How loops and long-polling agents wait for news without polling the state.</remarks>
    public Task WaitForChangeAsync(ulong position, CancellationToken cancellationToken = default)
    {
        // Read the signal before the position: an apply in between completes this very signal.
        var changed = Volatile.Read(ref _changed);
        return AppliedPosition > position ? Task.CompletedTask : changed.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Opens the replica's log and rebuilds the state from its newest snapshot and the tail.</summary>
    /// <exception cref="ReplicaEmptyException">The replica is not initialized.</exception>
    /// <exception cref="StorageNotReadyException">The state cannot be rebuilt; the message says what to do.</exception>
    public static SchedulerStore Open(SchedulerStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var metadata = LoadMetadata(options);
        if (metadata.Status != ReplicaStatus.Voting)
        {
            throw new ReplicaEmptyException(options.Directory);
        }

        var log = SegmentedLog.Open(options.LogOptions());
        try
        {
            var snapshots = new SnapshotStore(options.SnapshotOptions());
            var recovery = StateReplayer.Replay(log, snapshots, ReplayTarget.Latest);
            foreach (var problem in recovery.SkippedSnapshots)
            {
                PersistenceMessages.SnapshotSkipped(options.Logger, problem.Path, problem.Problem);
            }

            PersistenceMessages.Recovered(options.Logger, recovery.AppliedPosition, recovery.Snapshot?.Position ?? 0, recovery.EntriesReplayed, recovery.State.TaskCount);
            return new SchedulerStore(options, log, snapshots, recovery);
        }
        catch (Exception e) when (e is EventApplyException or ReplayUnavailableException or InvalidDataException)
        {
            log.Dispose();
            throw new StorageNotReadyException($"the state cannot be rebuilt from {options.Directory}: {e.Message}", e);
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    /// <summary>Decides the command; commits and applies its events; returns the decision once durable and applied.</summary>
    /// <exception cref="CommandRejectedException">The command was refused; nothing was written.</exception>
    /// <exception cref="IOException">The append failed; nothing was applied, and the command may be retried.</exception>
    public async Task<Decision> ExecuteAsync(SchedulerCommand command, string principal, CancellationToken cancellationToken = default) =>
        (await CommitAsync(command, principal, cancellationToken).ConfigureAwait(false)).Decision;

    /// <summary>As <see cref="ExecuteAsync"/>, also saying which log entry recorded the decision.</summary>
    public async Task<Committed> CommitAsync(SchedulerCommand command, string principal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentException.ThrowIfNullOrEmpty(principal);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfFailed();
            var context = new CommandContext(principal, _options.Time.GetUtcNow(), _options.Settings, _options.Ids);

            // Only this gate's holder mutates the state, so deciding needs no read lock.
            var decision = command.Decide(_state, context);
            if (!decision.ChangesState)
            {
                return new Committed(decision, 0);
            }

            var transaction = new Transaction();
            transaction.Events.AddRange(decision.Events);
            var entry = TransactionCodec.Encode(transaction, principal, context.NowMicros, _options.Term);
            var position = await _log.AppendAsync(entry, CancellationToken.None).ConfigureAwait(false);
            ApplyCommitted(new TransactionInfo(position, context.NowMicros, principal), transaction);
            return new Committed(decision, position);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Runs <paramref name="read"/> against a consistent state (no transaction half-applied).</summary>
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
    /// Writes a snapshot of the applied state (unless nothing but the previous snapshot's marker was
    /// committed since), records a <c>SnapshotCommitted</c> marker for auditors, and truncates the log
    /// behind the oldest snapshot kept. Returns the snapshot, or null when there was nothing to snapshot.
    /// </summary>
    public async Task<SnapshotInfo?> TakeSnapshotAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        byte[] blob;
        ulong position;
        ulong term;
        try
        {
            ThrowIfFailed();
            position = _appliedPosition;
            if (position == 0 || position == _lastMarkerPosition)
            {
                return null;
            }

            // The term of the entry the snapshot ends at, not the one this store appends with: a
            // follower installing the snapshot continues its log after that entry. Asked while the
            // gate holds, before a later snapshot's prefix truncation could remove the entry.
            term = _log.TermAt(position);

            // Serialized while writers wait; the file is written after they may go on.
            blob = _state.ToSnapshot().ToByteArray();
        }
        finally
        {
            _writeGate.Release();
        }

        var info = Snapshots.Write(position, term, SchedulerState.SnapshotBlobType, blob);
        var hash = SchedulerState.HashOf(blob);
        PersistenceMessages.SnapshotWritten(_logger, position, blob.Length, SchedulerState.FormatHash(hash));
        var marker = await CommitAsync(new RecordSnapshot(position, hash), Principals.Scheduler, cancellationToken).ConfigureAwait(false);
        if (marker.Decision.ChangesState)
        {
            Volatile.Write(ref _lastMarkerPosition, marker.Position);
        }

        if (_options.TruncateLogBehindSnapshots && Snapshots.List() is { Count: > 0 } kept)
        {
            var oldest = kept.Min(s => s.Position);
            _log.TruncatePrefix(oldest + 1);
        }

        return info;
    }

    /// <summary>The state hash at the applied position (SHA-256 of the canonical snapshot encoding).</summary>
    public byte[] StateHash() => Read(state => state.StateHash());

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        _log.Dispose();
        _stateLock.Dispose();
        _writeGate.Dispose();
    }

    private void ApplyCommitted(TransactionInfo info, Transaction transaction)
    {
        _stateLock.EnterWriteLock();
        try
        {
            _state.Apply(info, transaction);
            Volatile.Write(ref _appliedPosition, info.Position);
            Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
        }
        catch (Exception e)
        {
            // Committed but not applicable: the log and the state diverged. Serving on would
            // answer from a state the log does not describe.
            _failure = e;
            PersistenceMessages.Diverged(_logger, e, info.Position);
            throw;
        }
        finally
        {
            _stateLock.ExitWriteLock();
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw new StorageNotReadyException($"the state diverged from the log at an earlier entry: {failure.Message}", failure);
        }
    }

    private static ReplicaMetadata LoadMetadata(SchedulerStoreOptions options)
    {
        try
        {
            return new ReplicaMetadataStore(options.FileSystem, options.Directory).Load();
        }
        catch (InvalidDataException e)
        {
            throw new StorageNotReadyException(e.Message, e);
        }
    }
}

/// <summary>A command's decision and the log position of the entry that recorded it (0 when it changed nothing).</summary>
public readonly record struct Committed(Decision Decision, ulong Position);
