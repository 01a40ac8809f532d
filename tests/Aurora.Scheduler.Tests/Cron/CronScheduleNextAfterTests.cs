using Aurora.Scheduler.Cron;
using static Aurora.Scheduler.Tests.Cron.CronZones;

namespace Aurora.Scheduler.Tests.Cron;

public class CronScheduleNextAfterTests
{
    private static DateTimeOffset? Next(string schedule, DateTimeOffset after, TimeZoneInfo? zone = null) =>
        CronSchedule.Parse(schedule).NextAfter(after, zone ?? TimeZoneInfo.Utc);

    [Fact]
    public void The_next_fire_is_strictly_after_the_start_even_when_the_start_matches()
    {
        Assert.Equal(Utc(2024, 1, 1, 10, 1), Next("* * * * *", Utc(2024, 1, 1, 10, 0)));
        Assert.Equal(Utc(2024, 1, 1, 10, 30), Next("*/15 * * * *", Utc(2024, 1, 1, 10, 15)));
    }

    [Fact]
    public void Seconds_in_the_start_are_ignored_and_the_result_is_a_whole_minute_in_UTC()
    {
        var next = Next("* * * * *", Utc(2024, 1, 1, 10, 0, 59).AddTicks(9_999_999));

        Assert.Equal(Utc(2024, 1, 1, 10, 1), next);
        Assert.Equal(TimeSpan.Zero, next!.Value.Offset);
        Assert.Equal(0, next.Value.Second);
        Assert.Equal(0, next.Value.Millisecond);
    }

    [Fact]
    public void The_start_is_an_instant_whatever_offset_it_is_written_with()
    {
        var asWritten = new DateTimeOffset(2024, 1, 15, 9, 0, 0, TimeSpan.FromHours(-5));

        Assert.Equal(Utc(2024, 1, 15, 15, 0), Next("0 * * * *", asWritten));
    }

    [Theory]
    [InlineData("*/15 * * * *", "2024-01-01T10:14:59Z", "2024-01-01T10:15:00Z")]
    [InlineData("*/15 * * * *", "2024-01-01T10:45:00Z", "2024-01-01T11:00:00Z")]
    [InlineData("0 */6 * * *", "2024-01-01T19:00:00Z", "2024-01-02T00:00:00Z")]
    [InlineData("1-50/20 3 * * *", "2024-01-01T03:21:00Z", "2024-01-01T03:41:00Z")]
    [InlineData("1-50/20 3 * * *", "2024-01-01T03:41:00Z", "2024-01-02T03:01:00Z")]
    [InlineData("0 0 * * *", "2024-12-31T00:00:00Z", "2025-01-01T00:00:00Z")]
    [InlineData("59 23 31 12 *", "2024-12-31T23:59:00Z", "2025-12-31T23:59:00Z")]
    [InlineData("0 0 1 JAN *", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")]
    [InlineData("30 4 * JUN,SEP *", "2024-06-30T04:30:00Z", "2024-09-01T04:30:00Z")]
    public void Skips_hours_days_months_and_years_that_cannot_match(string schedule, string after, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected), Next(schedule, DateTimeOffset.Parse(after)));
    }

    [Theory]
    [InlineData("0 0 31 * *", "2024-01-31T00:00:00Z", "2024-03-31T00:00:00Z")]
    [InlineData("0 0 31 * *", "2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z")]
    [InlineData("0 0 31 * *", "2024-07-31T00:00:00Z", "2024-08-31T00:00:00Z")]
    [InlineData("0 12 30 * *", "2023-01-30T12:00:00Z", "2023-03-30T12:00:00Z")]
    [InlineData("0 0 29-31 * *", "2023-01-31T00:00:00Z", "2023-03-29T00:00:00Z")]
    [InlineData("0 0 29-31 * *", "2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z")]
    public void Days_past_the_end_of_a_month_are_skipped_not_carried_over(string schedule, string after, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected), Next(schedule, DateTimeOffset.Parse(after)));
    }

    [Theory]
    [InlineData("2023-01-01T00:00:00Z", "2024-02-29T00:00:00Z")]
    [InlineData("2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z")]
    [InlineData("1999-03-01T00:00:00Z", "2000-02-29T00:00:00Z")]
    [InlineData("2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z")]
    public void Feb_29_fires_only_in_leap_years_including_across_a_skipped_century(string after, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected), Next("0 0 29 2 *", DateTimeOffset.Parse(after)));
    }

    [Theory]
    [InlineData("0 9 * * MON-FRI", "2024-06-07T09:00:00Z", "2024-06-10T09:00:00Z")]
    [InlineData("0 9 * * MON-FRI", "2024-06-10T08:59:00Z", "2024-06-10T09:00:00Z")]
    [InlineData("30 17 * * SUN", "2024-06-03T00:00:00Z", "2024-06-09T17:30:00Z")]
    [InlineData("0 0 * * 0,6", "2024-06-09T00:00:00Z", "2024-06-15T00:00:00Z")]
    [InlineData("0 0 * 2 SAT", "2024-02-24T00:00:00Z", "2025-02-01T00:00:00Z")]
    [InlineData("0 0 * * FRI", "2024-12-28T00:00:00Z", "2025-01-03T00:00:00Z")]
    public void Day_of_week_schedules_fire_on_those_weekdays_only(string schedule, string after, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected), Next(schedule, DateTimeOffset.Parse(after)));
    }

    [Theory]
    [InlineData("0 0 30 2 *")]
    [InlineData("0 0 30,31 FEB *")]
    [InlineData("0 0 31 4,6,9,11 *")]
    [InlineData("*/5 * 31 APR-JUN/2 *")]
    public void A_schedule_that_names_no_real_day_never_fires(string schedule)
    {
        Assert.Null(Next(schedule, Utc(2024, 1, 1, 0, 0)));
    }

    [Fact]
    public void The_search_ends_at_the_last_representable_minute()
    {
        Assert.Equal(Utc(9999, 12, 31, 23, 59), Next("* * * * *", Utc(9999, 12, 31, 23, 58)));
        Assert.Null(Next("* * * * *", Utc(9999, 12, 31, 23, 59)));
        Assert.Null(Next("0 0 1 1 *", Utc(9999, 6, 1, 0, 0)));
        Assert.Null(Next("* * * * *", DateTimeOffset.MaxValue));
        Assert.Equal(Utc(1, 1, 1, 0, 1), Next("* * * * *", DateTimeOffset.MinValue));
    }

    [Fact]
    public void Fields_are_read_as_wall_clock_time_in_the_cron_time_zone()
    {
        Assert.Equal(Utc(2024, 1, 15, 14, 0), Next("0 9 * * *", Utc(2024, 1, 15, 0, 0), NewYork));
        Assert.Equal(Utc(2024, 7, 15, 13, 0), Next("0 9 * * *", Utc(2024, 7, 15, 0, 0), NewYork));
        Assert.Equal(Utc(2024, 7, 14, 22, 0), Next("0 0 * * MON", Utc(2024, 7, 10, 0, 0), Berlin));
    }

    [Fact]
    public void A_wall_clock_time_skipped_by_spring_forward_does_not_fire_that_day()
    {
        // New York 2024-03-10: 02:00 EST (07:00Z) becomes 03:00 EDT; 02:30 does not exist that day.
        Assert.Equal(Utc(2024, 3, 9, 7, 30), Next("30 2 * * *", Utc(2024, 3, 9, 0, 0), NewYork));
        Assert.Equal(Utc(2024, 3, 11, 6, 30), Next("30 2 * * *", Utc(2024, 3, 9, 8, 0), NewYork));
        Assert.Equal(Utc(2024, 3, 10, 7, 0), Next("*/30 2-3 * * *", Utc(2024, 3, 10, 6, 45), NewYork));
        Assert.Equal(Utc(2024, 3, 10, 7, 0), Next("* * * * *", Utc(2024, 3, 10, 6, 59), NewYork));

        // Berlin 2024-03-31: 02:00 CET (01:00Z) becomes 03:00 CEST.
        Assert.Equal(Utc(2024, 4, 1, 0, 30), Next("30 2 * * *", Utc(2024, 3, 30, 12, 0), Berlin));
    }

    [Fact]
    public void A_wall_clock_time_repeated_by_fall_back_fires_once_at_its_first_occurrence()
    {
        // New York 2024-11-03: 02:00 EDT (06:00Z) becomes 01:00 EST, so 01:00-01:59 happens twice:
        // 05:00Z-05:59Z (EDT), then 06:00Z-06:59Z (EST).
        Assert.Equal(Utc(2024, 11, 3, 5, 30), Next("30 1 * * *", Utc(2024, 11, 3, 4, 0), NewYork));
        Assert.Equal(Utc(2024, 11, 4, 6, 30), Next("30 1 * * *", Utc(2024, 11, 3, 5, 30), NewYork));
        Assert.Equal(Utc(2024, 11, 4, 6, 15), Next("15 1 * * *", Utc(2024, 11, 3, 6, 20), NewYork));
        Assert.Equal(Utc(2024, 11, 3, 5, 0), Next("0 * * * *", Utc(2024, 11, 3, 4, 30), NewYork));
        Assert.Equal(Utc(2024, 11, 3, 7, 0), Next("0 * * * *", Utc(2024, 11, 3, 5, 0), NewYork));
        Assert.Equal(Utc(2024, 11, 3, 7, 0), Next("* * * * *", Utc(2024, 11, 3, 6, 10), NewYork));

        // Berlin 2024-10-27: 03:00 CEST (01:00Z) becomes 02:00 CET, so 02:30 happens at 00:30Z and 01:30Z.
        Assert.Equal(Utc(2024, 10, 27, 0, 30), Next("30 2 * * *", Utc(2024, 10, 26, 12, 0), Berlin));
        Assert.Equal(Utc(2024, 10, 28, 1, 30), Next("30 2 * * *", Utc(2024, 10, 27, 0, 30), Berlin));
    }

    [Fact]
    public void Every_minute_across_fall_back_skips_only_the_repeated_hour()
    {
        var schedule = CronSchedule.Parse("* * * * *");
        var fires = new List<DateTimeOffset>();
        for (var at = Utc(2024, 11, 3, 4, 58); fires.Count < 65; at = fires[^1])
        {
            fires.Add(schedule.NextAfter(at, NewYork)!.Value);
        }

        // 00:59 EDT through 01:59 EDT, then straight to 02:00 EST.
        var expected = Enumerable.Range(0, 61).Select(i => Utc(2024, 11, 3, 4, 59).AddMinutes(i))
            .Concat(Enumerable.Range(0, 4).Select(i => Utc(2024, 11, 3, 7, 0).AddMinutes(i)));
        Assert.Equal(expected, fires);
    }

    [Fact]
    public void NextAfter_requires_a_time_zone()
    {
        Assert.Throws<ArgumentNullException>(() => CronSchedule.Parse("* * * * *").NextAfter(Utc(2024, 1, 1, 0, 0), null!));
    }
}
