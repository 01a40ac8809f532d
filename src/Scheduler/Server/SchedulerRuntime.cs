using System.Diagnostics;
using Aurora.Replication;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Server.Agents;
using Aurora.Storage;
using Aurora.Storage.Backups;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.Scheduler.Server;

/// <summary>Where the replica's storage is in its life; the API serves only <see cref="Ready"/>.</summary>
internal enum StorageState
{
    /// <summary>Opening the log and rebuilding the state.</summary>
    Recovering,

    /// <summary>The replica was never initialized; retried until the operator runs aurora-log initialize.</summary>
    Empty,

    Ready,

    /// <summary>A fatal storage error: the process is exiting for its supervisor to restart it.</summary>
    Failed,
}

/// <summary>
/// One replica's scheduler: opens its store in the background (the HTTP server answers meanwhile,
/// with 503 "Storage is not READY"), runs the periodic snapshots, pruning and backups, executes
/// commands with timing, and ends the process on fatal storage errors, as Aurora does, so that its
/// supervisor restarts it.
/// </summary>
internal sealed partial class SchedulerRuntime : ICommandExecutor, IAsyncDisposable
{
    /// <summary>How often an EMPTY replica looks again for the initialization the operator must do.</summary>
    private static readonly TimeSpan EmptyRetryInterval = TimeSpan.FromSeconds(2);

    private readonly ServerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Action<int> _exit;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<IAsyncDisposable> _background = [];
    private readonly SemaphoreSlim _leaderWorkGate = new(1, 1);
    private readonly Lock _leadingLock = new();
    private Task _leading = Task.CompletedTask;
    private ReplicaNode? _node;
    private Uri? _serviceUrl;
    private volatile SchedulerStore? _store;
    private volatile string _notReadyReason = "recovering the state from the log";
    private volatile StorageState _state = StorageState.Recovering;
    private Task _opening = Task.CompletedTask;

    /// <param name="exit">Ends the process with the code; Aurora's supervision model (tests substitute it).</param>
    public SchedulerRuntime(ServerOptions options, ILoggerFactory loggers, TimeProvider time, Action<int> exit)
    {
        _options = options;
        _logger = loggers.CreateLogger("Aurora.Scheduler");
        Loggers = loggers;
        _time = time;
        _exit = exit;
        Backups = new BackupManager(BackupOptions());
        Recovery = new RecoveryArea(Backups);
        Metrics = new ServerMetrics(this, time);
        Agents = new AgentServices(options, time, loggers.CreateLogger("Aurora.Scheduler.Agents"));
    }

    public ServerOptions Options => _options;

    public ILoggerFactory Loggers { get; }

    public TimeProvider Time => _time;

    public BackupManager Backups { get; }

    public RecoveryArea Recovery { get; }

    public ServerMetrics Metrics { get; }

    /// <summary>The agents heard from, the status pump and placement's pending reasons.</summary>
    public AgentServices Agents { get; }

    public StorageState State => _state;

    /// <summary>Why the storage cannot serve, for 503 answers; null once ready.</summary>
    public string? NotReadyReason => _state == StorageState.Ready ? null : _notReadyReason;

    /// <summary>
    /// True while this replica leads: the replicated log's leadership, the one source of truth
    /// (a lone replica leads once its storage is ready).
    /// </summary>
    public bool IsLeader => _state == StorageState.Ready && _store is { } store && store.Replication.CurrentLeadership.IsSelf;

    /// <summary>
    /// The leader's HTTP base URL when another replica leads and this one knows where it serves;
    /// null when this replica leads or no leader is known.
    /// </summary>
    public Uri? LeaderUrl =>
        _store is { } store && !store.Replication.CurrentLeadership.IsSelf && !IsElected && store.Replication.Status.LeaderServiceUrl is { } url
        && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : null;

    /// <summary>
    /// True from this replica's election until it serves (it is committing its term's first entry):
    /// the leader it knows of is itself, so it must not redirect there, and soon leads.
    /// </summary>
    public bool IsElected => _store is { } store && !store.Replication.CurrentLeadership.IsSelf
        && store.Replication.CurrentLeadership.LeaderId is { } leader && leader == store.Replication.Status.SelfId;

    /// <summary>The leader's replica id as this replica knows it (null when none is known).</summary>
    public string? LeaderId => _store?.Replication.CurrentLeadership.LeaderId;

    /// <summary>The store, or <see cref="StorageNotReadyException"/> saying why there is none to serve from.</summary>
    public SchedulerStore Store => _store is { } store && _state == StorageState.Ready
        ? store
        : throw new StorageNotReadyException(_notReadyReason);

    /// <summary>The store whatever its state, for metrics; null before it opened.</summary>
    public SchedulerStore? StoreIfOpen => _store;

    /// <summary>Starts opening the store in the background; the HTTP server may answer meanwhile.</summary>
    /// <param name="serviceUrl">Where this replica serves HTTP, as the other replicas redirect clients to it.</param>
    public void Start(Uri serviceUrl)
    {
        _serviceUrl = serviceUrl;
        if (_options.DevDirectory is { } devDirectory)
        {
            InitializeDevLogIfNew(devDirectory);
        }

        _opening = Task.Run(OpenLoopAsync);
    }

    /// <summary>Waits until the store opened, failed, or <paramref name="timeout"/> passed (tests, start-up logs).</summary>
    public Task WaitOpenedAsync(TimeSpan timeout) => _opening.WaitAsync(timeout);

    /// <summary>Executes a command as <paramref name="principal"/>, timing the commit.</summary>
    public async Task<Committed> ExecuteAsync(SchedulerCommand command, string principal, CancellationToken cancellationToken = default)
    {
        var store = Store;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var committed = await store.CommitAsync(command, principal, cancellationToken).ConfigureAwait(false);
            Metrics.CommandCommitted(Stopwatch.GetElapsedTime(started), committed.Decision.ChangesState);
            return committed;
        }
        catch (CommandRejectedException)
        {
            Metrics.CommandRejected();
            throw;
        }
        catch (StorageNotReadyException e)
        {
            // The store refuses for good once the log and the state diverged.
            Fatal(e);
            throw;
        }
    }

    Task<Committed> ICommandExecutor.CommitAsync(SchedulerCommand command, string principal, CancellationToken cancellationToken) =>
        ExecuteAsync(command, principal, cancellationToken);

    /// <summary>Snapshot now; returns it, or null when nothing changed since the last one.</summary>
    public async Task<SnapshotInfo?> SnapshotAsync(CancellationToken cancellationToken = default)
    {
        return await Store.TakeSnapshotAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Aurora's performBackup: a snapshot of the state now, copied to the backup directory.</summary>
    public async Task<BackupInfo> BackupNowAsync(CancellationToken cancellationToken = default)
    {
        await SnapshotAsync(cancellationToken).ConfigureAwait(false);
        return Backups.BackupNewestSnapshot(Store.Snapshots)
            ?? throw CommandRejectedException.Invalid("Nothing to back up yet: the log holds no entry.");
    }

    /// <summary>Ends the process non-zero after a storage error the replica cannot serve through.</summary>
    public void Fatal(Exception error)
    {
        if (_state == StorageState.Failed)
        {
            return;
        }

        _notReadyReason = $"a fatal storage error stopped this replica: {error.Message}";
        _state = StorageState.Failed;
        ServerMessages.FatalStorageError(_logger, error, error.Message);
        _exit(ExitCodes.FatalStorageError);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _opening.ConfigureAwait(false);
            await Volatile.Read(ref _leading).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Already logged where it happened.
        }

        foreach (var work in _background)
        {
            await work.DisposeAsync().ConfigureAwait(false);
        }

        if (_store is { } store)
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }

        if (_node is { } node)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    /// <summary>A file such as segment-abc.log is ignored by the log, which an operator may not expect: said once, at start-up.</summary>
    private void WarnOfUnaccountedFiles()
    {
        try
        {
            var unaccounted = LogDirectoryLayout.FindUnaccounted(PhysicalFileSystem.Instance, _options.LogDirectory);
            if (unaccounted.Count > 0)
            {
                ServerMessages.UnaccountedFiles(_logger, unaccounted.Count, string.Join(", ", unaccounted.Take(10)) + (unaccounted.Count > 10 ? ", ..." : string.Empty));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a warning depends on it; the log itself opened.
        }
    }

    private async Task OpenLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                _state = StorageState.Recovering;
                _notReadyReason = "recovering the state from the log";
                var store = await OpenStoreAsync().ConfigureAwait(false);
                _store = store;
                StartReplicaWork(store);
                _state = StorageState.Ready;
                ServerMessages.StorageReady(_logger, store.AppliedPosition, store.Recovery.EntriesReplayed);
                WarnOfUnaccountedFiles();
                store.Replication.LeadershipChanged += OnLeadershipChanged;
                OnLeadershipChanged(store.Replication.CurrentLeadership);
                return;
            }
            catch (ReplicaEmptyException e)
            {
                // Aurora's "Replicated log not initialized": wait for the operator, saying what to do.
                if (_state != StorageState.Empty)
                {
                    ServerMessages.ReplicaEmpty(_logger, e.Message);
                }

                _notReadyReason = e.Reason;
                _state = StorageState.Empty;
            }
            catch (Exception e) when (e is StorageNotReadyException or IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Fatal(e);
                return;
            }

            try
            {
                await Task.Delay(EmptyRetryInterval, _time, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<SchedulerStore> OpenStoreAsync()
    {
        if (_options.Replication is not { } replication)
        {
            return await SchedulerStore.OpenAsync(StoreOptions(), replicate: null, _stopping.Token).ConfigureAwait(false);
        }

        // The transport binds -replication_port now; the replica joins once its state is loaded.
        _node ??= new ReplicaNode(replication.Transport(), Loggers);
        var consensus = replication.Consensus(_serviceUrl?.ToString().TrimEnd('/'), _options.MaxEntrySize);
        var node = _node;
        return await SchedulerStore.OpenAsync(StoreOptions(), (storage, applied) => node.Start(consensus, storage, applied), _stopping.Token).ConfigureAwait(false);
    }

    /// <summary>What every replica runs: its own snapshots (and truncation behind them), and the pump agents' reports go through.</summary>
    private void StartReplicaWork(SchedulerStore store)
    {
        var snapshots = Housekeeping.Snapshots(store, _time, _options.SnapshotInterval);
        Agents.Pump = new StatusPump(command => ExecuteAsync(command, Principals.Agent));
        Metrics.WatchSnapshots(snapshots);
        _background.AddRange([Agents.Pump, snapshots]);
        snapshots.Start();
    }

    /// <summary>Leadership changed (on the replication loop's thread: nothing here blocks). A new term's leader work starts once the last term's stopped.</summary>
    private void OnLeadershipChanged(Leadership leadership)
    {
        if (!leadership.IsSelf || _stopping.IsCancellationRequested)
        {
            return;
        }

        lock (_leadingLock)
        {
            _leading = Task.Run(() => LeadAsync(leadership));
        }
    }

    /// <summary>
    /// Placement, the cluster loop, cron, pruning and periodic backups run only on the leader: they
    /// start once it is writable in its term and stop when the term's leadership is lost.
    /// </summary>
    private async Task LeadAsync(Leadership leadership)
    {
        await _leaderWorkGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var store = _store!;
            using var ends = CancellationTokenSource.CreateLinkedTokenSource(leadership.Lost, _stopping.Token);
            try
            {
                await store.WaitWritableAsync(ends.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or NotLeaderException)
            {
                return;
            }

            // Agents that heartbeat to the old leader get one -agent_timeout to find this one.
            Agents.Registry.Restart();
            var work = StartLeaderWork(store);
            ServerMessages.Leading(_logger, leadership.Term, store.AppliedPosition);
            try
            {
                await Task.Delay(Timeout.Infinite, ends.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Leadership lost, or the scheduler is stopping.
            }

            foreach (var item in work)
            {
                await item.DisposeAsync().ConfigureAwait(false);
            }

            if (!_stopping.IsCancellationRequested)
            {
                ServerMessages.StoppedLeading(_logger, leadership.Term);
            }
        }
        finally
        {
            _leaderWorkGate.Release();
        }
    }

    private List<IAsyncDisposable> StartLeaderWork(SchedulerStore store)
    {
        var taskPruner = Housekeeping.TaskHistoryPruner(store, this, _time, _options.TaskHistoryPruningInterval);
        var updatePruner = Housekeeping.JobUpdateHistoryPruner(store, this, _time, _options.JobUpdateHistoryPruningInterval);
        var backups = new BackupScheduler(Backups, store.Snapshots, BackupOptions());
        var cron = new CronTrigger(store, this, _time, _options.CronTimeZone);
        Metrics.WatchLeaderWork(backups, cron);
        var cluster = new ClusterLoop(this, store, Agents, _options.TransientTaskStateTimeout);

        // Disposed in this order: the loop stops deciding first.
        List<IAsyncDisposable> work = [cluster, taskPruner, updatePruner, backups, cron];
        cluster.Start();
        cron.Start();
        taskPruner.Start();
        updatePruner.Start();
        backups.Start();
        return work;
    }

    private SchedulerStoreOptions StoreOptions() => new()
    {
        Directory = _options.LogDirectory,
        Settings = _options.Settings,
        Time = _time,
        Logger = Loggers.CreateLogger("Aurora.Scheduler.Store"),
        MaxEntrySize = _options.MaxEntrySize,
        OnFatalError = Fatal,
    };

    private BackupOptions BackupOptions() => new()
    {
        BackupDirectory = _options.BackupDirectory,
        ClusterName = _options.ClusterName,
        Interval = _options.BackupInterval,
        MaxSavedBackups = _options.MaxSavedBackups,
        Time = _time,
        Logger = Loggers.CreateLogger("Aurora.Scheduler.Backups"),
    };

    /// <summary>
    /// <c>-dev</c> initialises its log only when its directory does not exist yet, so an existing
    /// cluster's data is never overwritten. The replica is built in a side directory and renamed
    /// into place: a crash part-way leaves no half-initialised replica behind.
    /// </summary>
    private void InitializeDevLogIfNew(string devDirectory)
    {
        var logInside = Path.GetRelativePath(devDirectory, _options.LogDirectory);
        if (Directory.Exists(devDirectory) || logInside.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(logInside))
        {
            // An existing dev cluster, or a log the operator placed elsewhere: never initialised implicitly.
            return;
        }

        var parent = Path.GetDirectoryName(devDirectory) ?? ".";
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(devDirectory)}.init-{Environment.ProcessId}");
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        var stagedLog = Path.Combine(staging, logInside);
        Directory.CreateDirectory(stagedLog);
        new ReplicaMetadataStore(PhysicalFileSystem.Instance, stagedLog).Save(ReplicaMetadataStore.NewVoting(_time.GetUtcNow(), _options.ClusterName));
        Directory.Move(staging, devDirectory);
        PhysicalFileSystem.Instance.SyncDirectory(parent);
        ServerMessages.DevLogInitialized(_logger, _options.LogDirectory);
    }
}
