using Aurora.Storage;

namespace Aurora.Scheduler.Persistence;

/// <summary>Takes a snapshot every <c>-dlog_snapshot_interval</c> (Aurora's default: 1 hour).</summary>
/// <remarks>
/// Ticks run as <see cref="PeriodicWork"/>; a failed snapshot is logged, counted and retried at the
/// next interval, never thrown. Disposal waits for a snapshot in progress.
/// </remarks>
public sealed class SnapshotScheduler : IAsyncDisposable
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromHours(1);

    private readonly SchedulerStore _store;
    private readonly TimeSpan _interval;
    private readonly PeriodicWork _work;
    private long _taken;
    private long _failed;

    public SnapshotScheduler(SchedulerStore store, TimeProvider time, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _interval = interval;
        _work = new PeriodicWork(time, interval, TickAsync);
    }

    public long Taken => Interlocked.Read(ref _taken);

    public long Failed => Interlocked.Read(ref _failed);

    public void Start() => _work.Start();

    public ValueTask DisposeAsync() => _work.DisposeAsync();

    private async Task TickAsync()
    {
        try
        {
            if (await _store.TakeSnapshotAsync().ConfigureAwait(false) is not null)
            {
                Interlocked.Increment(ref _taken);
            }
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            PersistenceMessages.SnapshotFailed(_store.Logger, e, e.Message, _interval);
        }
    }
}
