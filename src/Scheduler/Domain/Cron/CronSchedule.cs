using System.Text;

namespace Aurora.Scheduler.Cron;

/// <summary>
/// A cron job's schedule in Aurora's restricted FreeBSD crontab syntax: five whitespace-separated
/// fields (minute 0-59, hour 0-23, dayOfMonth 1-31, month 1-12 or JAN-DEC, dayOfWeek 0-6 or SUN-SAT),
/// each a comma list of <c>*</c>, <c>N</c>, <c>N-M</c>, <c>*/S</c> or <c>N-M/S</c>. Restricting both
/// dayOfMonth and dayOfWeek is not supported, so a day matches when both of its fields match.
/// </summary>
/// <remarks>
/// Immutable and safe to share between threads. Two schedules are equal when they match the same
/// minutes, whatever their spelling; <see cref="ToString"/> is the canonical spelling, which
/// <see cref="Parse"/> reads back to an equal schedule.
/// </remarks>
public sealed partial class CronSchedule : IEquatable<CronSchedule>
{
    private readonly ulong _minutes;
    private readonly ulong _hours;
    private readonly ulong _daysOfMonth;
    private readonly ulong _months;
    private readonly ulong _daysOfWeek;
    private readonly string _canonical;

    private CronSchedule(ulong minutes, ulong hours, ulong daysOfMonth, ulong months, ulong daysOfWeek)
    {
        _minutes = minutes;
        _hours = hours;
        _daysOfMonth = daysOfMonth;
        _months = months;
        _daysOfWeek = daysOfWeek;
        _canonical = string.Join(
            ' ',
            Canonical(CronField.Minute, minutes),
            Canonical(CronField.Hour, hours),
            Canonical(CronField.DayOfMonth, daysOfMonth),
            Canonical(CronField.Month, months),
            Canonical(CronField.DayOfWeek, daysOfWeek));
    }

    public static bool operator ==(CronSchedule? left, CronSchedule? right) => Equals(left, right);

    public static bool operator !=(CronSchedule? left, CronSchedule? right) => !Equals(left, right);

    /// <summary>
    /// The canonical form: <c>*</c> for a field that covers its whole range, otherwise its values in
    /// ascending order, maximal runs written <c>N-M</c>, joined by commas; names become numbers.
    /// <c>0,1-57,58 */8 * jan-mar mon-fri</c> becomes <c>0-58 0,8,16 * 1-3 1-5</c>.
    /// </summary>
    public override string ToString() => _canonical;

    public bool Equals(CronSchedule? other) =>
        other is not null
        && _minutes == other._minutes
        && _hours == other._hours
        && _daysOfMonth == other._daysOfMonth
        && _months == other._months
        && _daysOfWeek == other._daysOfWeek;

    public override bool Equals(object? obj) => Equals(obj as CronSchedule);

    public override int GetHashCode() => HashCode.Combine(_minutes, _hours, _daysOfMonth, _months, _daysOfWeek);

    private static string Canonical(CronField field, ulong mask)
    {
        if (mask == field.All)
        {
            return "*";
        }

        var text = new StringBuilder();
        for (var start = CronField.NextAtOrAfter(mask, field.Min); start >= 0;)
        {
            var end = start;
            while (end < field.Max && CronField.Contains(mask, end + 1))
            {
                end++;
            }

            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(start);
            if (end > start)
            {
                text.Append('-').Append(end);
            }

            start = CronField.NextAtOrAfter(mask, end + 1);
        }

        return text.ToString();
    }
}
