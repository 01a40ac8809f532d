using System.Globalization;

namespace Aurora.LogTool;

/// <summary>Times on the command line (<c>--since</c>, <c>--until</c>, <c>--at</c>) and log times in microseconds.</summary>
internal static class TimeArgument
{
    public const string Syntax = "ISO-8601 such as 2026-01-01T00:00:00Z, or a date such as 2026-01-01 (UTC unless an offset is given)";

    // Exact formats only: a culture-dependent parse would accept "1/2/2026", which means different days to different people.
    private static readonly string[] Formats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>The value of <c>--<paramref name="flag"/></c> as an instant; a usage error naming the flag otherwise.</summary>
    public static DateTimeOffset Parse(string flag, string value) =>
        TryParse(value, out var time)
            ? time
            : throw new UsageException($"--{flag}={value} is not a time: use {Syntax}");

    public static bool TryParse(string value, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(
            value,
            Formats,
            CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
            out time);
}
