namespace Aurora.Scheduler.Cron;

// The schedule is matched against wall-clock time in the cron time zone. A wall-clock minute that
// the zone skips (spring forward) does not fire; one it repeats (fall back) fires once, at its first
// occurrence. Mapping each existing wall-clock minute to its first occurrence is monotonic, so the
// search can walk wall-clock time forward and stop at the first match that lies after the start.
public sealed partial class CronSchedule
{
    /// <summary>
    /// Every schedule that matches at all matches within any 8 consecutive years: the rarest is
    /// Feb 29, and from 2096-03-01 the next one is 2104-02-29 because 2100 is not a leap year.
    /// </summary>
    private const int HorizonYears = 8;

    /// <summary>
    /// The first time strictly after <paramref name="after"/> at which the schedule fires, reading
    /// the fields as wall-clock time in <paramref name="zone"/>; always a whole minute, returned with
    /// offset zero. Null if the schedule never fires (such as Feb 30) or the next firing would lie
    /// beyond <see cref="DateTimeOffset.MaxValue"/>.
    /// </summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var localTicks = Math.Max(0, after.UtcTicks + zone.GetUtcOffset(after).Ticks);
        var startTicks = localTicks - (localTicks % TimeSpan.TicksPerMinute) + TimeSpan.TicksPerMinute;
        if (startTicks > DateTime.MaxValue.Ticks)
        {
            return null;
        }

        var start = new DateTime(startTicks, DateTimeKind.Unspecified);
        var cursor = new Cursor(start.Year, start.Month, start.Day, start.Hour, start.Minute);
        var lastYear = Math.Min(start.Year + HorizonYears, DateTime.MaxValue.Year);
        while (cursor.Year <= lastYear)
        {
            if (!CronField.Contains(_months, cursor.Month))
            {
                NextMonth(ref cursor);
                continue;
            }

            if (!DayMatches(cursor))
            {
                var day = NextDay(cursor);
                if (day < 0)
                {
                    NextMonth(ref cursor);
                    continue;
                }

                cursor = new Cursor(cursor.Year, cursor.Month, day, 0, 0);
            }

            if (!CronField.Contains(_hours, cursor.Hour))
            {
                var hour = CronField.NextAtOrAfter(_hours, cursor.Hour);
                if (hour < 0)
                {
                    cursor = cursor.StartOfNextDay();
                    continue;
                }

                cursor = cursor with { Hour = hour, Minute = 0 };
            }

            if (!CronField.Contains(_minutes, cursor.Minute))
            {
                var minute = CronField.NextAtOrAfter(_minutes, cursor.Minute);
                if (minute < 0)
                {
                    cursor = cursor.StartOfNextHour();
                    continue;
                }

                cursor = cursor with { Minute = minute };
            }

            // Only a skipped minute, or a repeated one whose first occurrence is not after the start
            // (the start lies in the repeated hour), gets here without returning.
            if (FirstOccurrence(cursor.ToDateTime(), zone) is { } fire && fire > after)
            {
                return fire;
            }

            cursor = cursor.NextMinute();
        }

        return null;
    }

    private static DateTimeOffset? FirstOccurrence(DateTime wallClock, TimeZoneInfo zone)
    {
        if (zone.IsInvalidTime(wallClock))
        {
            return null;
        }

        var offset = zone.IsAmbiguousTime(wallClock)
            ? zone.GetAmbiguousTimeOffsets(wallClock).Max()
            : zone.GetUtcOffset(wallClock);
        var utcTicks = wallClock.Ticks - offset.Ticks;
        return utcTicks < 0 || utcTicks > DateTimeOffset.MaxValue.UtcTicks
            ? null
            : new DateTimeOffset(utcTicks, TimeSpan.Zero);
    }

    private bool DayMatches(Cursor cursor) =>
        cursor.Day <= DateTime.DaysInMonth(cursor.Year, cursor.Month)
        && CronField.Contains(_daysOfMonth, cursor.Day)
        && CronField.Contains(_daysOfWeek, (int)cursor.DayOfWeek);

    /// <summary>The first matching day of the cursor's month from the cursor's day on, or -1.</summary>
    private int NextDay(Cursor cursor)
    {
        var daysInMonth = DateTime.DaysInMonth(cursor.Year, cursor.Month);
        if (cursor.Day > daysInMonth)
        {
            return -1;
        }

        var dayOfWeek = (int)cursor.DayOfWeek;
        for (var day = cursor.Day; day <= daysInMonth; day++, dayOfWeek = (dayOfWeek + 1) % 7)
        {
            if (CronField.Contains(_daysOfMonth, day) && CronField.Contains(_daysOfWeek, dayOfWeek))
            {
                return day;
            }
        }

        return -1;
    }

    private void NextMonth(ref Cursor cursor)
    {
        var month = CronField.NextAtOrAfter(_months, cursor.Month + 1);
        cursor = month < 0
            ? new Cursor(cursor.Year + 1, CronField.NextAtOrAfter(_months, CronField.Month.Min), 1, 0, 0)
            : new Cursor(cursor.Year, month, 1, 0, 0);
    }

    /// <summary>
    /// A wall-clock minute as plain fields. Day may run one past the month's end and Year one past
    /// the horizon; the search loop moves on from both before building a <see cref="DateTime"/>.
    /// </summary>
    private readonly record struct Cursor(int Year, int Month, int Day, int Hour, int Minute)
    {
        public DayOfWeek DayOfWeek => new DateTime(Year, Month, 1, 0, 0, 0, DateTimeKind.Unspecified).AddDays(Day - 1).DayOfWeek;

        public DateTime ToDateTime() => new(Year, Month, Day, Hour, Minute, 0, DateTimeKind.Unspecified);

        public Cursor StartOfNextDay() => new(Year, Month, Day + 1, 0, 0);

        public Cursor StartOfNextHour() => Hour < 23 ? this with { Hour = Hour + 1, Minute = 0 } : StartOfNextDay();

        public Cursor NextMinute() => Minute < 59 ? this with { Minute = Minute + 1 } : StartOfNextHour();
    }
}
