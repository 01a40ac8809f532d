using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Storage;

namespace Aurora.Scheduler.Persistence;

/// <summary>
/// Work the scheduler does on its own store every interval: snapshots (<c>-dlog_snapshot_interval</c>)
/// and history pruning (Aurora's TaskHistoryPruner and JobUpdateHistoryPruner).
/// </summary>
/// <remarks>
/// Ticks run as <see cref="PeriodicWork"/>; a failed tick is logged, counted and tried again at the
/// next interval, never thrown. Disposal waits for a tick in progress.
/// </remarks>
public sealed class Housekeeping : IAsyncDisposable
{
    /// <summary>Aurora's <c>-dlog_snapshot_interval</c> default.</summary>
    public static readonly TimeSpan DefaultSnapshotInterval = TimeSpan.FromHours(1);

    private readonly SchedulerStore _store;
    private readonly Func<Task<bool>> _tick;
    private readonly string _name;
    private readonly TimeSpan _interval;
    private readonly PeriodicWork _work;
    private long _done;
    private long _failed;

    /// <param name="tick">One round of the work; true when it changed something.</param>
    private Housekeeping(SchedulerStore store, TimeProvider time, TimeSpan interval, string name, Func<Task<bool>> tick)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _tick = tick;
        _name = name;
        _interval = interval;
        _work = new PeriodicWork(time, interval, TickAsync);
    }

    /// <summary>A snapshot every <paramref name="interval"/>, skipped when nothing was committed since the last one.</summary>
    public static Housekeeping Snapshots(SchedulerStore store, TimeProvider time, TimeSpan interval) =>
        new(store, time, interval, "snapshot", async () => await store.TakeSnapshotAsync().ConfigureAwait(false) is not null);

    /// <summary>Task history pruning, by default every minute so the per-job limit holds soon after tasks terminate.</summary>
    /// <param name="store">The store (its logger).</param>
    /// <param name="executor">Where the pruning commands go: the server's single entry point for commands.</param>
    public static Housekeeping TaskHistoryPruner(SchedulerStore store, ICommandExecutor executor, TimeProvider time, TimeSpan? interval = null) =>
        Command(store, executor, time, interval ?? TimeSpan.FromMinutes(1), "task history pruning", () => new PruneTaskHistory());

    /// <summary>Job update history pruning, every <c>-job_update_history_pruning_interval</c> (15 minutes by default).</summary>
    /// <param name="store">The store (its logger).</param>
    /// <param name="executor">Where the pruning commands go: the server's single entry point for commands.</param>
    public static Housekeeping JobUpdateHistoryPruner(SchedulerStore store, ICommandExecutor executor, TimeProvider time, TimeSpan? interval = null) =>
        Command(store, executor, time, interval ?? TimeSpan.FromMinutes(15), "job update history pruning", () => new PruneJobUpdateHistory());

    /// <summary>Ticks that changed something (wrote a snapshot, committed events).</summary>
    public long Done => Interlocked.Read(ref _done);

    public long Failed => Interlocked.Read(ref _failed);

    public void Start() => _work.Start();

    public ValueTask DisposeAsync() => _work.DisposeAsync();

    private static Housekeeping Command(SchedulerStore store, ICommandExecutor executor, TimeProvider time, TimeSpan interval, string name, Func<SchedulerCommand> command)
    {
        ArgumentNullException.ThrowIfNull(executor);
        return new(store, time, interval, name, async () =>
            (await executor.CommitAsync(command(), Principals.Scheduler).ConfigureAwait(false)).Decision.ChangesState);
    }

    private async Task TickAsync()
    {
        try
        {
            if (await _tick().ConfigureAwait(false))
            {
                Interlocked.Increment(ref _done);
            }
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            PersistenceMessages.HousekeepingFailed(_store.Logger, e, _name, e.Message, _interval);
        }
    }
}
