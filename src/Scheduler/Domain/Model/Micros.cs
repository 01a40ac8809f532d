namespace Aurora.Scheduler.Model;

/// <summary>Microseconds, the log's time resolution: instants since the Unix epoch (UTC) and spans.</summary>
public static class Micros
{
    public static long Of(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    public static long Of(TimeSpan span) => span.Ticks / TimeSpan.TicksPerMicrosecond;
}
