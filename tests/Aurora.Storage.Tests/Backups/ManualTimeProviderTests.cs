namespace Aurora.Storage.Tests.Backups;

public class ManualTimeProviderTests
{
    [Fact]
    public void Time_moves_only_when_advanced()
    {
        var time = new ManualTimeProvider();
        var start = time.GetUtcNow();

        time.Advance(TimeSpan.FromMinutes(3));

        Assert.Equal(ManualTimeProvider.DefaultStart, start);
        Assert.Equal(start + TimeSpan.FromMinutes(3), time.GetUtcNow());
        Assert.Equal(TimeSpan.FromMinutes(3), time.GetElapsedTime(start.UtcTicks, time.GetTimestamp()));
    }

    [Fact]
    public void Timers_fire_in_due_order_each_seeing_its_own_due_time()
    {
        var time = new ManualTimeProvider();
        var start = time.GetUtcNow();
        var fired = new List<(string Name, TimeSpan At)>();
        using var periodic = time.CreateTimer(_ => fired.Add(("every 10s", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        using var once = time.CreateTimer(_ => fired.Add(("once at 15s", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(15), Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromSeconds(35));

        Assert.Equal(
            [("every 10s", TimeSpan.FromSeconds(10)), ("once at 15s", TimeSpan.FromSeconds(15)), ("every 10s", TimeSpan.FromSeconds(20)), ("every 10s", TimeSpan.FromSeconds(30))],
            fired);
        Assert.Equal(1, time.ActiveTimerCount);
    }

    [Fact]
    public void A_timer_changed_or_disposed_from_its_own_callback_obeys()
    {
        var time = new ManualTimeProvider();
        var count = 0;
        ITimer? timer = null;
        timer = time.CreateTimer(
            _ =>
            {
                if (++count == 2)
                {
                    timer!.Dispose();
                }
            },
            null,
            TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(1));
        var postponed = 0;
        using var later = time.CreateTimer(_ => postponed++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        Assert.True(later.Change(TimeSpan.FromSeconds(8), Timeout.InfiniteTimeSpan));

        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, count);
        Assert.Equal(0, postponed);

        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, count);
        Assert.Equal(1, postponed);
        Assert.False(timer.Change(TimeSpan.Zero, TimeSpan.Zero));
    }
}
