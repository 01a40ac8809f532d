namespace Aurora.Scheduler.Tests.Cron;

/// <summary>Time zones with daylight saving, read from the system's tzdata (present on Linux).</summary>
internal static class CronZones
{
    /// <summary>EST/EDT: springs forward 02:00 -> 03:00, falls back 02:00 -> 01:00.</summary>
    public static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    /// <summary>CET/CEST: springs forward 02:00 -> 03:00, falls back 03:00 -> 02:00.</summary>
    public static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    public static DateTimeOffset Utc(int year, int month, int day, int hour, int minute, int second = 0) =>
        new(year, month, day, hour, minute, second, TimeSpan.Zero);
}
