using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Cron;
using Aurora.Scheduler.Model;
using Aurora.Storage;
using Microsoft.Extensions.Logging;

namespace Aurora.Scheduler.Persistence;

/// <summary>
/// Fires cron jobs on their schedules (Aurora's cron scheduler): every tick, each cron job with a
/// scheduled time in (previous tick, now] is triggered as principal <see cref="Principals.Cron"/>, and the
/// job's collision policy decides what happens (<see cref="TriggerCronJob"/>).
/// </summary>
/// <remarks>
/// Times missed while no scheduler was running are not made up after a start: the first tick looks
/// back only to when this trigger started, as Aurora does after a failover. A schedule that fell due
/// several times within one tick fires once. Ticks run as <see cref="PeriodicWork"/>; a failed
/// trigger is logged and counted, and the other jobs of the tick still fire.
/// </remarks>
public sealed class CronTrigger : IAsyncDisposable
{
    /// <summary>The principal of scheduled runs in the log.</summary>

    /// <summary>Often enough for minute schedules to fire within seconds of their minute.</summary>
    public static readonly TimeSpan DefaultTick = TimeSpan.FromSeconds(5);

    private readonly SchedulerStore _store;
    private readonly ICommandExecutor _executor;
    private readonly TimeProvider _time;
    private readonly TimeZoneInfo _zone;
    private readonly PeriodicWork _work;
    private readonly Dictionary<string, CronSchedule?> _parsed = new(StringComparer.Ordinal);
    private DateTimeOffset _checkedUpTo;
    private long _fired;
    private long _failed;

    /// <param name="store">Where the cron jobs are read.</param>
    /// <param name="executor">Where the triggers go: the server's single entry point for commands.</param>
    /// <param name="time">The clock schedules are held against.</param>
    /// <param name="zone">The time zone of the schedules.</param>
    /// <param name="tick">How often schedules are checked.</param>
    public CronTrigger(SchedulerStore store, ICommandExecutor executor, TimeProvider time, TimeZoneInfo zone, TimeSpan? tick = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(executor);
        _store = store;
        _executor = executor;
        _time = time;
        _zone = zone;
        _checkedUpTo = time.GetUtcNow();
        _work = new PeriodicWork(time, tick ?? DefaultTick, TickAsync);
    }

    /// <summary>Scheduled runs triggered (whatever their collision policy made of them).</summary>
    public long Fired => Interlocked.Read(ref _fired);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Ticks completed, whether or not anything was due (counted once the next tick can run).</summary>
    public long Ticks => _work.CompletedRuns;

    public void Start() => _work.Start();

    public ValueTask DisposeAsync() => _work.DisposeAsync();

    private async Task TickAsync()
    {
        var now = _time.GetUtcNow();
        var from = _checkedUpTo;
        var due = _store.Read(state => state.CronJobs
            .Where(cron => Parse(cron.Config.CronSchedule)?.NextAfter(from, _zone) is { } next && next <= now)
            .Select(cron => cron.Job.Clone())
            .ToList());
        foreach (var job in due)
        {
            try
            {
                await _executor.CommitAsync(new TriggerCronJob(job), Principals.Cron).ConfigureAwait(false);
                Interlocked.Increment(ref _fired);
            }
            catch (Exception e) when (e is CommandRejectedException or IOException)
            {
                // Descheduled between the read and the trigger, or the append failed: the other jobs still fire.
                Interlocked.Increment(ref _failed);
                PersistenceMessages.CronTriggerFailed(_store.Logger, e, $"{job.Role}/{job.Environment}/{job.Name}", e.Message);
            }
        }

        _checkedUpTo = now;
    }

    /// <summary>Schedules are validated when a cron job is scheduled; one that no longer parses never fires.</summary>
    private CronSchedule? Parse(string schedule)
    {
        lock (_parsed)
        {
            if (!_parsed.TryGetValue(schedule, out var parsed))
            {
                parsed = CronSchedule.TryParse(schedule, out var result, out _) ? result : null;
                _parsed[schedule] = parsed;
            }

            return parsed;
        }
    }
}
