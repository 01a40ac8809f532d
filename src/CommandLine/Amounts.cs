using System.Globalization;

namespace Aurora.CommandLine;

/// <summary>
/// Aurora's amounts on command lines and in configs: durations such as <c>1hrs</c>, <c>30mins</c>,
/// <c>5secs</c>, <c>250ms</c> (also <c>h</c>, <c>m</c>, <c>s</c>, <c>d</c>), and data sizes such as
/// <c>512KB</c>, <c>32MB</c>, <c>2GB</c> (binary multiples, as Aurora's MB and GB constants; <c>MiB</c>
/// spellings too). A bare number is taken in the unit the caller names.
/// </summary>
public static class Amounts
{
    private static readonly (string Unit, TimeSpan Size)[] TimeUnits =
    [
        ("ms", TimeSpan.FromMilliseconds(1)), ("msecs", TimeSpan.FromMilliseconds(1)),
        ("s", TimeSpan.FromSeconds(1)), ("sec", TimeSpan.FromSeconds(1)), ("secs", TimeSpan.FromSeconds(1)),
        ("m", TimeSpan.FromMinutes(1)), ("min", TimeSpan.FromMinutes(1)), ("mins", TimeSpan.FromMinutes(1)),
        ("h", TimeSpan.FromHours(1)), ("hr", TimeSpan.FromHours(1)), ("hrs", TimeSpan.FromHours(1)),
        ("d", TimeSpan.FromDays(1)), ("day", TimeSpan.FromDays(1)), ("days", TimeSpan.FromDays(1)),
    ];

    private static readonly (string Unit, long Size)[] DataUnits =
    [
        ("b", 1), ("B", 1),
        ("KB", 1L << 10), ("KiB", 1L << 10), ("K", 1L << 10),
        ("MB", 1L << 20), ("MiB", 1L << 20), ("M", 1L << 20),
        ("GB", 1L << 30), ("GiB", 1L << 30), ("G", 1L << 30),
        ("TB", 1L << 40), ("TiB", 1L << 40), ("T", 1L << 40),
    ];

    /// <summary>Parses a duration; <paramref name="bareUnit"/> is what a number without a unit means.</summary>
    public static bool TryParseDuration(string text, TimeSpan bareUnit, out TimeSpan duration)
    {
        duration = default;
        if (!Split(text, out var number, out var unit))
        {
            return false;
        }

        var size = unit.Length == 0 ? bareUnit : TimeUnits.FirstOrDefault(u => u.Unit == unit).Size;
        if (size == default)
        {
            return false;
        }

        var ticks = number * size.Ticks;
        if (ticks is < 0 or > long.MaxValue / 2)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)ticks);
        return true;
    }

    /// <summary>Parses a size in bytes; <paramref name="bareUnit"/> is what a number without a unit means, in bytes.</summary>
    public static bool TryParseBytes(string text, long bareUnit, out long bytes)
    {
        bytes = default;
        if (!Split(text, out var number, out var unit))
        {
            return false;
        }

        var size = unit.Length == 0 ? bareUnit : DataUnits.FirstOrDefault(u => u.Unit == unit).Size;
        if (size == 0)
        {
            return false;
        }

        var value = number * size;
        if (value is < 0 or > long.MaxValue / 2 || value != Math.Floor(value))
        {
            return false;
        }

        bytes = (long)value;
        return true;
    }

    /// <summary>The duration in Aurora's spelling, in the largest unit that divides it (<c>1hrs</c>, <c>90secs</c>).</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        foreach (var (unit, size) in new[] { ("days", TimeSpan.FromDays(1)), ("hrs", TimeSpan.FromHours(1)), ("mins", TimeSpan.FromMinutes(1)), ("secs", TimeSpan.FromSeconds(1)) })
        {
            if (duration.Ticks % size.Ticks == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{duration.Ticks / size.Ticks}{unit}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{(long)duration.TotalMilliseconds}ms");
    }

    /// <summary>The size in the largest binary unit that divides it (<c>512KB</c>, <c>2GB</c>).</summary>
    public static string FormatBytes(long bytes)
    {
        foreach (var (unit, size) in new[] { ("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10) })
        {
            if (bytes != 0 && bytes % size == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{bytes / size}{unit}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{bytes}B");
    }

    private static bool Split(string text, out double number, out string unit)
    {
        number = 0;
        unit = string.Empty;
        text = text.Trim();
        var end = 0;
        while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] == '.'))
        {
            end++;
        }

        if (end == 0)
        {
            return false;
        }

        unit = text[end..].Trim();
        return double.TryParse(text.AsSpan(0, end), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number)
            && double.IsFinite(number);
    }
}
