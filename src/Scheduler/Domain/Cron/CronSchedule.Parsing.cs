using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Aurora.Scheduler.Cron;

// Accepts exactly what Aurora's CrontabEntry accepts, quirks included, so that any schedule an
// Aurora cluster stored parses here to the same minutes; only the error messages are more specific.
public sealed partial class CronSchedule
{
    private const string FieldOrder = "minute hour dayOfMonth month dayOfWeek";

    /// <summary>Parses a schedule, throwing <see cref="CronScheduleException"/> with a specific reason if it is not accepted.</summary>
    public static CronSchedule Parse(string schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return TryParseCore(schedule, out var parsed, out var reason)
            ? parsed
            : throw new CronScheduleException(schedule, reason);
    }

    /// <summary>
    /// Parses a schedule; on failure <paramref name="error"/> is the message
    /// <see cref="Parse"/> would have thrown. A null schedule is rejected like an empty one.
    /// </summary>
    public static bool TryParse(
        [NotNullWhen(true)] string? schedule,
        [NotNullWhen(true)] out CronSchedule? result,
        [NotNullWhen(false)] out string? error)
    {
        schedule ??= string.Empty;
        if (TryParseCore(schedule, out result, out var reason))
        {
            error = null;
            return true;
        }

        error = CronScheduleException.Describe(schedule, reason);
        return false;
    }

    private static bool TryParseCore(
        string schedule,
        [NotNullWhen(true)] out CronSchedule? result,
        [NotNullWhen(false)] out string? reason)
    {
        result = null;
        if (schedule.Length > 0 && (IsSeparator(schedule[0]) || IsSeparator(schedule[^1])))
        {
            reason = "leading or trailing whitespace is not allowed";
            return false;
        }

        var fields = SplitFields(schedule);
        if (fields.Count != 5)
        {
            reason = fields.Count > 0 && fields[0].StartsWith('@')
                ? $"macros such as '{fields[0]}' are not supported; write the 5 fields ({FieldOrder}) instead"
                : $"expected 5 whitespace-separated fields ({FieldOrder}), found {fields.Count}";
            return false;
        }

        if (!TryParseField(CronField.Minute, fields[0], out var minutes, out reason)
            || !TryParseField(CronField.Hour, fields[1], out var hours, out reason)
            || !TryParseField(CronField.DayOfMonth, fields[2], out var daysOfMonth, out reason)
            || !TryParseField(CronField.Month, fields[3], out var months, out reason)
            || !TryParseField(CronField.DayOfWeek, fields[4], out var daysOfWeek, out reason))
        {
            return false;
        }

        // Aurora rejects this rather than pick between crontab(5)'s "either matches" rule and the
        // "both match" rule users tend to expect; a field covering its whole range counts as unset.
        if (daysOfMonth != CronField.DayOfMonth.All && daysOfWeek != CronField.DayOfWeek.All)
        {
            reason = "Specifying both dayOfWeek and dayOfMonth is not supported.";
            return false;
        }

        result = new CronSchedule(minutes, hours, daysOfMonth, months, daysOfWeek);
        return true;
    }

    // Java's \s, which Aurora's pattern separates fields with; other Unicode spaces are not separators.
    private static bool IsSeparator(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    private static List<string> SplitFields(string schedule)
    {
        var fields = new List<string>(5);
        var start = -1;
        for (var i = 0; i <= schedule.Length; i++)
        {
            var separator = i == schedule.Length || IsSeparator(schedule[i]);
            if (separator && start >= 0)
            {
                fields.Add(schedule[start..i]);
                start = -1;
            }
            else if (!separator && start < 0)
            {
                start = i;
            }
        }

        return fields;
    }

    private static bool TryParseField(CronField field, string raw, out ulong mask, [NotNullWhen(false)] out string? reason)
    {
        mask = 0;
        var components = raw.Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (components.Length == 0)
        {
            reason = $"{field.Name} field '{raw}' lists no values";
            return false;
        }

        foreach (var component in components)
        {
            if (!TryParseComponent(field, component, out var values, out reason))
            {
                return false;
            }

            mask |= values;
        }

        reason = null;
        return true;
    }

    private static bool TryParseComponent(CronField field, string raw, out ulong values, [NotNullWhen(false)] out string? reason)
    {
        values = 0;
        reason = null;
        var text = SubstituteNames(field, raw);
        if (text == "*")
        {
            values = field.All;
            return true;
        }

        if (!TrySplitComponent(text, out var low, out var high, out var skip))
        {
            var names = field.Names.Count == 0
                ? string.Empty
                : $"; N may also be a name {field.Names[0]}-{field.Names[^1]}";
            reason = $"{field.Name} component '{raw}' is not one of *, N, N-M, */S, N-M/S with N, M in {field.Bounds}{names}";
            return false;
        }

        var from = field.Min;
        var to = field.Max;
        if (low is not null)
        {
            if (high is null)
            {
                if (!TryParseNumber(low, out from) || from < field.Min || from > field.Max)
                {
                    reason = field == CronField.DayOfWeek && from == 7
                        ? $"{field.Name} value '{raw}' is outside {field.Bounds}; Sunday is 0 or SUN, 7 is not accepted"
                        : $"{field.Name} value '{raw}' is outside {field.Bounds}";
                    return false;
                }

                values = 1UL << from;
                return true;
            }

            var lowParsed = TryParseNumber(low, out from);
            var highParsed = TryParseNumber(high, out to);
            if (lowParsed && highParsed && from > to)
            {
                reason = $"{field.Name} range '{raw}' starts after it ends ({from} > {to})";
                return false;
            }

            if (!lowParsed || !highParsed || from < field.Min || to > field.Max)
            {
                reason = $"{field.Name} range '{raw}' is outside {field.Bounds}";
                return false;
            }
        }

        if (skip is null)
        {
            values = CronField.Span(from, to);
            return true;
        }

        if (!TryParseNumber(skip, out var step))
        {
            reason = $"{field.Name} skip in '{raw}' is too large";
            return false;
        }

        if (step == 0)
        {
            reason = $"{field.Name} skip in '{raw}' must be at least 1";
            return false;
        }

        // Aurora bounds an explicit range's skip by the range's end value, not by its length.
        if (low is not null && step >= to)
        {
            reason = $"{field.Name} skip {step} in '{raw}' must be smaller than the range end {to}";
            return false;
        }

        for (long value = from; value <= to; value += step)
        {
            values |= 1UL << (int)value;
        }

        return true;
    }

    // Aurora upper-cases the component and replaces every occurrence of every name with its number,
    // wherever it appears (so "*/FEB" means "*/2"); doing the same keeps acceptance identical.
    private static string SubstituteNames(CronField field, string raw)
    {
        if (field.Names.Count == 0)
        {
            return raw;
        }

        var text = raw.ToUpperInvariant();
        for (var i = 0; i < field.Names.Count; i++)
        {
            text = text.Replace(field.Names[i], (field.Min + i).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>
    /// Splits <c>N</c>, <c>N-M</c>, <c>*/S</c> or <c>N-M/S</c> (digits only) into its parts; a null
    /// <paramref name="low"/> means <c>*</c>. False for anything else, <c>N/S</c> included.
    /// </summary>
    private static bool TrySplitComponent(string text, out string? low, out string? high, out string? skip)
    {
        low = null;
        high = null;
        skip = null;
        if (text.StartsWith("*/", StringComparison.Ordinal))
        {
            skip = text[2..];
            return IsDigits(skip);
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var range = slash < 0 ? text : text[..slash];
        skip = slash < 0 ? null : text[(slash + 1)..];
        var dash = range.IndexOf('-', StringComparison.Ordinal);
        low = dash < 0 ? range : range[..dash];
        high = dash < 0 ? null : range[(dash + 1)..];
        return IsDigits(low)
            && (high is null || IsDigits(high))
            && (skip is null || (high is not null && IsDigits(skip)));
    }

    private static bool IsDigits(string text) => text.Length > 0 && text.All(char.IsAsciiDigit);

    // Digits beyond int's range are an error in Aurora (its parseInt throws), not a large value.
    private static bool TryParseNumber(string digits, out int value) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
