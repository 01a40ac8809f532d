using System.Diagnostics;
using System.Globalization;

namespace Aurora.Benchmarks.Shared;

/// <summary>One measured run: how many operations, how long, and the latency of each acknowledgement.</summary>
/// <param name="Case">Stable name of what was measured, e.g. <c>raw_64</c>, <c>log_16w</c> or <c>three_64</c>.</param>
/// <param name="Records">Records (raw) or entries (log, replicated log) that were made durable in the measured window.</param>
/// <param name="Bytes">Bytes written to the file for them (headers included for the log).</param>
/// <param name="Seconds">Wall time of the measured window.</param>
/// <param name="LatenciesMicros">Per sync (raw) or per acknowledged append or proposal, sorted ascending.</param>
/// <param name="Syncs">fdatasyncs issued for them (for a log: by its writer thread; for replicas: by all their writer threads).</param>
/// <param name="Usage">CPU and garbage collections of this process during the window.</param>
internal sealed record Measurement(string Case, long Records, long Bytes, double Seconds, double[] LatenciesMicros, long Syncs, Usage Usage)
{
    /// <summary>Operations that started in the window and failed (not counted in <see cref="Records"/>, not timed).</summary>
    public long Failures { get; init; }

    public double RecordsPerSecond => Records / Seconds;

    public double MiBPerSecond => Bytes / Seconds / (1 << 20);

    public double P50 => Stats.Percentile(LatenciesMicros, 0.50);

    public double P99 => Stats.Percentile(LatenciesMicros, 0.99);

    public double Max => LatenciesMicros.Length == 0 ? 0 : LatenciesMicros[^1];

    /// <summary>Records per fdatasync: fixed for the raw disk, the average group size for the log.</summary>
    public double RecordsPerSync => Syncs == 0 ? 0 : Records / (double)Syncs;

    public static double[] ToSortedMicros(IEnumerable<long> stopwatchTicks)
    {
        var micros = stopwatchTicks.Select(t => t * 1e6 / Stopwatch.Frequency).ToArray();
        Array.Sort(micros);
        return micros;
    }

    /// <summary>A <c>key=value</c> line in the style of the peers' scripts, easy to grep and compare.</summary>
    public string ToLine(int rep) => string.Create(
        CultureInfo.InvariantCulture,
        $"rep={rep} case={Case} records={Records} elapsed_s={Seconds:F3} records_per_s={RecordsPerSecond:F1} MiB_per_s={MiBPerSecond:F2} " +
        $"lat_us_p50={P50:F0} lat_us_p99={P99:F0} lat_us_max={Max:F0} syncs={Syncs} records_per_sync={RecordsPerSync:F1} failures={Failures} {Usage}");
}

/// <summary>
/// What this process spent during a window: CPU (100% = one core busy; on 2 cores, near 200% means
/// the run was CPU-bound rather than disk-bound), garbage collections per generation, and the time
/// the collections paused the process.
/// </summary>
internal readonly record struct Usage(double CpuPercent, int Gen0, int Gen1, int Gen2, double GcPauseMillis)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"cpu_pct={CpuPercent:F0} gc={Gen0}/{Gen1}/{Gen2} gc_pause_ms={GcPauseMillis:F1}");
}

/// <summary>A reading of the process's CPU time and GC counts; two of them make a <see cref="Usage"/>.</summary>
internal readonly record struct UsageMark(long Timestamp, TimeSpan Cpu, int Gen0, int Gen1, int Gen2, TimeSpan GcPause)
{
    public static UsageMark Now() => new(
        Stopwatch.GetTimestamp(),
        Process.GetCurrentProcess().TotalProcessorTime,
        GC.CollectionCount(0),
        GC.CollectionCount(1),
        GC.CollectionCount(2),
        GC.GetTotalPauseDuration());

    public Usage Since(UsageMark start)
    {
        var wall = (Timestamp - start.Timestamp) / (double)Stopwatch.Frequency;
        return new Usage((Cpu - start.Cpu).TotalSeconds / wall * 100, Gen0 - start.Gen0, Gen1 - start.Gen1, Gen2 - start.Gen2, (GcPause - start.GcPause).TotalMilliseconds);
    }
}

internal static class Stats
{
    /// <summary>Nearest-rank percentile of sorted values, the same rule as fsyncbench.c (index q * (n - 1)).</summary>
    public static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[(int)(q * (sorted.Length - 1))];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
