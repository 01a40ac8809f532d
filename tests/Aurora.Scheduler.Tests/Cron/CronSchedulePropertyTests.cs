using Aurora.Scheduler.Cron;
using FsCheck;
using FsCheck.Fluent;
using static Aurora.Scheduler.Tests.Cron.CronZones;

namespace Aurora.Scheduler.Tests.Cron;

/// <summary>
/// Random schedules, spelled several ways, against a reference that needs no cleverness: walk UTC
/// minute by minute, convert each to wall-clock time, and fire when the wall-clock minute matches and
/// has not been seen before (so skipped minutes never fire and repeated ones fire once). Starts
/// cluster around daylight-saving transitions and month ends, where the search takes shortcuts.
/// FsCheck prints the failing case and its replay seed.
/// </summary>
public class CronSchedulePropertyTests
{
    private static readonly TimeSpan Window = TimeSpan.FromDays(3);

    private static readonly string[] ZoneIds = ["UTC", "America/New_York", "Europe/Berlin"];

    private static readonly (string ZoneId, DateTimeOffset At)[] Transitions =
    [
        ("America/New_York", Utc(2024, 3, 10, 7, 0)), // 02:00 EST -> 03:00 EDT
        ("America/New_York", Utc(2024, 11, 3, 6, 0)), // 02:00 EDT -> 01:00 EST
        ("America/New_York", Utc(2023, 3, 12, 7, 0)),
        ("America/New_York", Utc(2023, 11, 5, 6, 0)),
        ("Europe/Berlin", Utc(2024, 3, 31, 1, 0)), // 02:00 CET -> 03:00 CEST
        ("Europe/Berlin", Utc(2024, 10, 27, 1, 0)), // 03:00 CEST -> 02:00 CET
    ];

    private static readonly DateTimeOffset[] MonthEnds =
    [
        Utc(2024, 2, 28, 12, 0),
        Utc(2023, 2, 28, 12, 0),
        Utc(2100, 2, 28, 12, 0),
        Utc(2024, 4, 30, 12, 0),
        Utc(2024, 12, 31, 12, 0),
    ];

    public enum Spelling
    {
        /// <summary><c>*</c> for a whole field, otherwise every value listed.</summary>
        Lists,

        /// <summary>Runs as <c>N-M</c>, a whole field as its full range.</summary>
        Ranges,

        /// <summary>Runs with month and weekday names in mixed case.</summary>
        Names,
    }

    /// <summary>The value sets of the five fields, bit v for value v.</summary>
    public sealed record Fields(ulong Minutes, ulong Hours, ulong DaysOfMonth, ulong Months, ulong DaysOfWeek)
    {
        private static readonly string[] MonthNames = ["jan", "Feb", "MAR", "apr", "May", "JUN", "jul", "Aug", "SEP", "oct", "Nov", "DEC"];
        private static readonly string[] DayNames = ["sun", "Mon", "TUE", "wed", "Thu", "FRI", "sat"];

        public bool Matches(DateTime wallClock) =>
            Has(Minutes, wallClock.Minute)
            && Has(Hours, wallClock.Hour)
            && Has(DaysOfMonth, wallClock.Day)
            && Has(Months, wallClock.Month)
            && Has(DaysOfWeek, (int)wallClock.DayOfWeek);

        public string Spell(Spelling spelling) => string.Join(
            ' ',
            SpellField(Minutes, 0, 59, spelling, null),
            SpellField(Hours, 0, 23, spelling, null),
            SpellField(DaysOfMonth, 1, 31, spelling, null),
            SpellField(Months, 1, 12, spelling, MonthNames),
            SpellField(DaysOfWeek, 0, 6, spelling, DayNames));

        private static string SpellField(ulong mask, int min, int max, Spelling spelling, string[]? names)
        {
            if (spelling == Spelling.Lists)
            {
                return mask == Span(min, max) ? "*" : string.Join(',', Enumerable.Range(min, max - min + 1).Where(v => Has(mask, v)));
            }

            string Name(int value) => spelling == Spelling.Names && names is not null ? names[value - min] : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var runs = new List<string>();
            for (var start = min; start <= max; start++)
            {
                if (!Has(mask, start))
                {
                    continue;
                }

                var end = start;
                while (end < max && Has(mask, end + 1))
                {
                    end++;
                }

                runs.Add(end == start ? Name(start) : $"{Name(start)}-{Name(end)}");
                start = end;
            }

            return string.Join(',', runs);
        }
    }

    public sealed record Case(Fields Fields, Spelling Spelling, string ZoneId, DateTimeOffset After)
    {
        public override string ToString() => $"'{Fields.Spell(Spelling)}' in {ZoneId} after {After:O}";
    }

    private static bool Has(ulong mask, int value) => ((mask >> value) & 1) != 0;

    private static ulong Span(int from, int to) => Enumerable.Range(from, to - from + 1).Aggregate(0UL, (mask, v) => mask | (1UL << v));

    private static Gen<ulong> ValuesGen(int min, int max) => Gen.Frequency(
        (3, Gen.Constant(Span(min, max))),
        (3, Gen.Choose(min, max).Select(v => 1UL << v)),
        (2, from start in Gen.Choose(min, max)
            from step in Gen.Choose(1, max - min)
            select Enumerable.Range(0, max - min + 1).Select(i => start + (i * step)).TakeWhile(v => v <= max).Aggregate(0UL, (mask, v) => mask | (1UL << v))),
        (2, from values in Gen.ArrayOf(Gen.Choose(min, max))
            select values.Aggregate(1UL << min, (mask, v) => mask | (1UL << v))));

    // Days 28-31 are where month lengths and leap years matter.
    private static readonly Gen<ulong> DaysOfMonthGen = Gen.Frequency(
        (3, ValuesGen(1, 31)),
        (2, from first in Gen.Choose(28, 31) from last in Gen.Choose(first, 31) select Span(first, last)));

    // Hours 0-3 are where New York and Berlin skip or repeat wall-clock time.
    private static readonly Gen<ulong> HoursGen = Gen.Frequency(
        (3, ValuesGen(0, 23)),
        (2, ValuesGen(0, 3)));

    private static readonly Gen<Fields> FieldsGen =
        from minutes in ValuesGen(0, 59)
        from hours in HoursGen
        from restricted in Gen.Elements("neither", "dayOfMonth", "dayOfWeek")
        from daysOfMonth in restricted == "dayOfMonth" ? DaysOfMonthGen : Gen.Constant(Span(1, 31))
        from daysOfWeek in restricted == "dayOfWeek" ? ValuesGen(0, 6) : Gen.Constant(Span(0, 6))
        from months in Gen.Frequency((3, Gen.Constant(Span(1, 12))), (2, ValuesGen(1, 12)))
        select new Fields(minutes, hours, daysOfMonth, months, daysOfWeek);

    // Starts up to two days before (mostly) to half a day after an interesting instant, so the
    // window usually spans it; any second, to exercise rounding to the minute.
    private static Gen<DateTimeOffset> Near(DateTimeOffset instant) =>
        Gen.Choose(-2 * 86_400, 43_200).Select(seconds => instant.AddSeconds(seconds));

    private static readonly Gen<(string ZoneId, DateTimeOffset After)> StartGen = Gen.Frequency(
        (3, from transition in Gen.Elements(Transitions)
            from after in Near(transition.At)
            select (transition.ZoneId, after)),
        (1, from zone in Gen.Elements(ZoneIds)
            from monthEnd in Gen.Elements(MonthEnds)
            from after in Near(monthEnd)
            select (zone, after)),
        (1, from zone in Gen.Elements(ZoneIds)
            from seconds in Gen.Choose(0, int.MaxValue)
            select (zone, Utc(2000, 1, 1, 0, 0).AddSeconds(seconds))));

    private static readonly Gen<Case> CaseGen =
        from fields in FieldsGen
        from spelling in Gen.Elements(Spelling.Lists, Spelling.Ranges, Spelling.Names)
        from start in StartGen
        select new Case(fields, spelling, start.ZoneId, start.After);

    [Fact]
    public void Successive_NextAfter_calls_list_exactly_the_minutes_a_minute_by_minute_walk_fires()
    {
        Prop.ForAll(CaseGen.ToArbitrary(), c =>
        {
            var zone = TimeZoneInfo.FindSystemTimeZoneById(c.ZoneId);
            var schedule = CronSchedule.Parse(c.Fields.Spell(c.Spelling));
            var end = c.After + Window;

            var actual = new List<DateTimeOffset>();
            for (var at = c.After; schedule.NextAfter(at, zone) is { } next && next <= end; at = next)
            {
                actual.Add(next);
            }

            Assert.Equal(ReferenceFires(c.Fields, c.After, end, zone), actual);
            Assert.All(actual, fire => Assert.Equal((TimeSpan.Zero, 0), (fire.Offset, fire.Second)));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Every_spelling_of_a_schedule_parses_to_the_same_schedule_and_canonical_form()
    {
        Prop.ForAll(FieldsGen.ToArbitrary(), fields =>
        {
            var lists = CronSchedule.Parse(fields.Spell(Spelling.Lists));
            var ranges = CronSchedule.Parse(fields.Spell(Spelling.Ranges));
            var names = CronSchedule.Parse(fields.Spell(Spelling.Names));
            var canonical = CronSchedule.Parse(lists.ToString());

            Assert.Equal(lists, ranges);
            Assert.Equal(lists, names);
            Assert.Equal(lists, canonical);
            Assert.Equal(lists.GetHashCode(), names.GetHashCode());
            Assert.Equal(lists.ToString(), names.ToString());
            Assert.Equal(lists.ToString(), canonical.ToString());
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true));
    }

    private static List<DateTimeOffset> ReferenceFires(Fields fields, DateTimeOffset after, DateTimeOffset end, TimeZoneInfo zone)
    {
        var fires = new List<DateTimeOffset>();
        var latestWallClock = DateTime.MinValue;

        // Starting three hours early sees the first occurrence of any wall-clock minute repeated
        // after the start (fall back repeats at most an hour in these zones).
        var first = after.UtcTicks - (after.UtcTicks % TimeSpan.TicksPerMinute) - TimeSpan.TicksPerHour * 3;
        for (var minute = new DateTimeOffset(first, TimeSpan.Zero); minute <= end; minute = minute.AddMinutes(1))
        {
            var wallClock = TimeZoneInfo.ConvertTimeFromUtc(minute.UtcDateTime, zone);
            var firstSeen = wallClock > latestWallClock;
            if (firstSeen)
            {
                latestWallClock = wallClock;
            }

            if (firstSeen && minute > after && fields.Matches(wallClock))
            {
                fires.Add(minute);
            }
        }

        return fires;
    }
}
