using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Tests.Support;

namespace Aurora.Scheduler.Tests.Persistence;

public sealed class CronTriggerTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(10);

    /// <summary>How long the trigger may take to notice a step of the clock, on a loaded machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Scheduled_runs_fire_on_time_as_principal_cron_and_the_collision_policy_holds()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(100, 1 << 20, 1 << 20)), "admin");
        var job = Configs.Key(name: "nightly");
        await store.ExecuteAsync(new ScheduleCronJob(Configs.Cron(job, schedule: "*/5 * * * *", policy: CronCollisionPolicy.CancelNew)), "alice");
        var executor = new RecordingExecutor(store);
        await using var trigger = new CronTrigger(store, executor, fixture.Time, TimeZoneInfo.Utc, Tick);
        trigger.Start();

        // 00:04:50: nothing is due yet.
        await AdvanceTickByTickAsync(fixture, trigger, TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(50));
        Assert.Equal(0, trigger.Fired);

        // 00:05:00 is due: one run launches.
        await AdvanceTickByTickAsync(fixture, trigger, Tick);
        Assert.Equal(1, trigger.Fired);
        Assert.Single(store.Read(s => s.ActiveInstances(job)));

        // 00:10:00 is due while the first run is still active: CANCEL_NEW skips it.
        await AdvanceTickByTickAsync(fixture, trigger, TimeSpan.FromMinutes(5));
        Assert.Equal(2, trigger.Fired);

        var triggered = store.Log.Read(1)
            .Select(entry => (entry.Principal, Events: TransactionCodec.Decode(entry).Events))
            .SelectMany(e => e.Events.Where(x => x.KindCase == Event.KindOneofCase.CronJobTriggered).Select(x => (e.Principal, x.CronJobTriggered.Outcome)))
            .ToList();
        Assert.Equal([(Principals.Cron, CronTriggerOutcome.Launched), (Principals.Cron, CronTriggerOutcome.Skipped)], triggered);
        Assert.Single(store.Read(s => s.ActiveInstances(job)));

        // Both went through the executor it was given (in the server, the runtime's one entry point
        // for commands: its metrics and its fatal handling), not straight to the store.
        Assert.Equal([(nameof(TriggerCronJob), Principals.Cron), (nameof(TriggerCronJob), Principals.Cron)], executor.Calls);
    }

    /// <summary>Passes commands to the store, noting each.</summary>
    private sealed class RecordingExecutor(ICommandExecutor inner) : ICommandExecutor
    {
        private readonly List<(string Command, string Principal)> _calls = [];

        public IReadOnlyList<(string Command, string Principal)> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        public Task<Committed> CommitAsync(SchedulerCommand command, string principal, CancellationToken cancellationToken = default)
        {
            lock (_calls)
            {
                _calls.Add((command.GetType().Name, principal));
            }

            return inner.CommitAsync(command, principal, cancellationToken);
        }
    }

    [Fact]
    public async Task A_descheduled_job_no_longer_fires_and_missed_times_are_not_made_up()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(100, 1 << 20, 1 << 20)), "admin");
        var job = Configs.Key(name: "hourly");
        await store.ExecuteAsync(new ScheduleCronJob(Configs.Cron(job, schedule: "0 * * * *")), "alice");

        // The trigger starts at 02:30: the runs at 01:00 and 02:00, while none was running, are not made up.
        fixture.Time.Advance(TimeSpan.FromHours(2.5));
        await using var trigger = new CronTrigger(store, store, fixture.Time, TimeZoneInfo.Utc, Tick);
        trigger.Start();
        await AdvanceTickByTickAsync(fixture, trigger, Tick);
        Assert.Equal(0, trigger.Fired);

        await store.ExecuteAsync(new DescheduleCronJob(job), "alice");
        await AdvanceTickByTickAsync(fixture, trigger, TimeSpan.FromHours(1));
        Assert.Equal(0, trigger.Fired);
        Assert.Equal(0, trigger.Failed);
    }

    /// <summary>Moves the clock one tick at a time, waiting each time until the trigger has looked at the new time.</summary>
    private static async Task AdvanceTickByTickAsync(StoreFixture fixture, CronTrigger trigger, TimeSpan by)
    {
        Assert.Equal(0, by.Ticks % Tick.Ticks);
        for (var step = TimeSpan.Zero; step < by; step += Tick)
        {
            var ticks = trigger.Ticks;

            // Advancing before the trigger has armed its next wait would pass it by, and it would never tick.
            await Eventually.HoldsAsync("the cron trigger to wait for its next tick", () => fixture.Time.ActiveTimerCount > 0, Patience, poll: TimeSpan.FromMilliseconds(1));
            fixture.Time.Advance(Tick);
            await Eventually.HoldsAsync("the cron trigger to tick", () => trigger.Ticks != ticks, Patience, poll: TimeSpan.FromMilliseconds(1));
        }
    }
}
