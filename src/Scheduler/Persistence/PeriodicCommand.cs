using Aurora.Scheduler.Commands;
using Aurora.Storage;

namespace Aurora.Scheduler.Persistence;

/// <summary>
/// Executes a command every interval on behalf of the scheduler: history pruning (Aurora's
/// TaskHistoryPruner and JobUpdateHistoryPruner), and later the other housekeeping loops.
/// </summary>
/// <remarks>
/// Ticks run as <see cref="PeriodicWork"/>; a rejected or failed command is logged, counted and tried
/// again at the next interval, never thrown. Disposal waits for a command in progress.
/// </remarks>
public sealed class PeriodicCommand : IAsyncDisposable
{
    private readonly SchedulerStore _store;
    private readonly Func<SchedulerCommand> _command;
    private readonly string _name;
    private readonly TimeSpan _interval;
    private readonly PeriodicWork _work;
    private long _executed;
    private long _failed;

    public PeriodicCommand(SchedulerStore store, TimeProvider time, TimeSpan interval, string name, Func<SchedulerCommand> command)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(command);
        _store = store;
        _command = command;
        _name = name;
        _interval = interval;
        _work = new PeriodicWork(time, interval, TickAsync);
    }

    /// <summary>Task history pruning, every minute so the per-job limit holds soon after tasks terminate.</summary>
    public static PeriodicCommand TaskHistoryPruner(SchedulerStore store, TimeProvider time) =>
        new(store, time, TimeSpan.FromMinutes(1), "task history pruning", () => new PruneTaskHistory());

    /// <summary>Job update history pruning, every <c>-job_update_history_pruning_interval</c> (15 minutes).</summary>
    public static PeriodicCommand JobUpdateHistoryPruner(SchedulerStore store, TimeProvider time) =>
        new(store, time, TimeSpan.FromMinutes(15), "job update history pruning", () => new PruneJobUpdateHistory());

    /// <summary>Ticks whose command committed events.</summary>
    public long Executed => Interlocked.Read(ref _executed);

    public long Failed => Interlocked.Read(ref _failed);

    public void Start() => _work.Start();

    public ValueTask DisposeAsync() => _work.DisposeAsync();

    private async Task TickAsync()
    {
        try
        {
            var decision = await _store.ExecuteAsync(_command(), SchedulerStore.SchedulerPrincipal).ConfigureAwait(false);
            if (decision.ChangesState)
            {
                Interlocked.Increment(ref _executed);
            }
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            PersistenceMessages.PeriodicCommandFailed(_store.Logger, e, _name, e.Message, _interval);
        }
    }
}
