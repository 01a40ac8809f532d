namespace Aurora.Storage;

/// <summary>
/// Runs an action every interval on a <see cref="TimeProvider"/>'s timer, never overlapping itself:
/// the shared machinery of periodic snapshots and backups.
/// </summary>
/// <remarks>
/// <para>Threading: the action starts on the timer's thread (with a fake <see cref="TimeProvider"/>, on
/// the thread that advances it; an action that completes synchronously completes there). A tick
/// that fires while the previous one is still running is dropped. <see cref="Start"/> and <see cref="DisposeAsync"/> may be called from any thread.</para>
/// <para>The action must not throw: a failure escaping it would go unobserved. Callers catch, log
/// and count their own failures.</para>
/// <para>Disposal stops the timer and waits for a tick in progress to finish.</para>
/// </remarks>
public sealed class PeriodicWork : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly Func<Task> _action;
    private readonly SemaphoreSlim _tickGate = new(1, 1);
    private readonly Lock _lifecycleLock = new();
    private ITimer? _timer;
    private bool _disposed;
    private long _completedRuns;

    public PeriodicWork(TimeProvider time, TimeSpan interval, Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _time = time;
        _interval = interval;
        _action = action;
    }

    /// <summary>
    /// Runs of the action completed. Counted once the run has let go of its gate, so that a caller
    /// who sees the count change knows the next tick will not be dropped as overlapping this one.
    /// </summary>
    public long CompletedRuns => Interlocked.Read(ref _completedRuns);

    /// <summary>Starts the timer; the first run is one interval away.</summary>
    public void Start()
    {
        lock (_lifecycleLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_timer is not null)
            {
                throw new InvalidOperationException("the periodic work is already started");
            }

            _timer = _time.CreateTimer(_ => _ = TickAsync(), null, _interval, _interval);
        }
    }

    public async ValueTask DisposeAsync()
    {
        ITimer? timer;
        lock (_lifecycleLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            timer = _timer;
        }

        if (timer is not null)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }

        // Waits for a tick in progress; later ticks see _disposed and do nothing.
        await _tickGate.WaitAsync().ConfigureAwait(false);
        _tickGate.Release();
    }

    private async Task TickAsync()
    {
        if (!_tickGate.Wait(0))
        {
            return;
        }

        var ran = false;
        try
        {
            lock (_lifecycleLock)
            {
                if (_disposed)
                {
                    return;
                }
            }

            await _action().ConfigureAwait(false);
            ran = true;
        }
        finally
        {
            _tickGate.Release();
            if (ran)
            {
                Interlocked.Increment(ref _completedRuns);
            }
        }
    }
}
