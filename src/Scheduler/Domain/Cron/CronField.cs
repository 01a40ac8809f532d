using System.Numerics;

namespace Aurora.Scheduler.Cron;

/// <summary>
/// One of the five crontab fields: its name as Aurora spells it in messages, its closed range of
/// values, and the names that may stand for values. A set of values is a bit mask, bit v for value v.
/// </summary>
internal sealed class CronField
{
    public static readonly CronField Minute = new("minute", 0, 59, []);
    public static readonly CronField Hour = new("hour", 0, 23, []);
    public static readonly CronField DayOfMonth = new("dayOfMonth", 1, 31, []);
    public static readonly CronField Month = new("month", 1, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]);

    // Unlike FreeBSD, Aurora does not accept 7 for Sunday.
    public static readonly CronField DayOfWeek = new("dayOfWeek", 0, 6, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]);

    private CronField(string name, int min, int max, string[] names)
    {
        Name = name;
        Min = min;
        Max = max;
        Names = names;
        All = Span(min, max);
    }

    public string Name { get; }

    public int Min { get; }

    public int Max { get; }

    /// <summary>Names for the values from <see cref="Min"/> upwards, in order; empty if the field has none.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The mask of every value in the field, which is what <c>*</c> means.</summary>
    public ulong All { get; }

    public string Bounds => $"{Min}-{Max}";

    /// <summary>The mask of the values <paramref name="from"/> to <paramref name="to"/> inclusive, both within 0-63.</summary>
    public static ulong Span(int from, int to) => (ulong.MaxValue >> (63 - to)) & (ulong.MaxValue << from);

    public static bool Contains(ulong mask, int value) => ((mask >> value) & 1) != 0;

    /// <summary>The smallest value in <paramref name="mask"/> that is at least <paramref name="from"/>, or -1.</summary>
    public static int NextAtOrAfter(ulong mask, int from)
    {
        if (from > 63)
        {
            return -1;
        }

        var rest = mask & (ulong.MaxValue << from);
        return rest == 0 ? -1 : BitOperations.TrailingZeroCount(rest);
    }
}
