using System.Diagnostics;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>Wall and process CPU time of one timed run (CPU includes the GC's background threads).</summary>
internal readonly record struct Timed(double Wall, double Cpu, int Gen0, int Gen1, int Gen2)
{
    public static Timed Run(Action action)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var (g0, g1, g2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var watch = Stopwatch.StartNew();
        action();
        var wall = watch.Elapsed.TotalSeconds;
        process.Refresh();
        return new Timed(
            wall,
            (process.TotalProcessorTime - cpu).TotalSeconds,
            GC.CollectionCount(0) - g0,
            GC.CollectionCount(1) - g1,
            GC.CollectionCount(2) - g2);
    }

    public string Collections => $"{Gen0}/{Gen1}/{Gen2}";
}

internal static class Timings
{
    /// <summary>One unmeasured warm-up, then <paramref name="reps"/> measured runs, each after a full collection.</summary>
    public static List<Timed> BestOf(int reps, Action action, CancellationToken cancellationToken)
    {
        Collect();
        action();
        var runs = new List<Timed>();
        for (var i = 0; i < reps; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Collect();
            runs.Add(Timed.Run(action));
        }

        return runs;
    }

    public static Timed Best(this IReadOnlyCollection<Timed> runs) => runs.MinBy(r => r.Wall);

    public static double Median(this IEnumerable<Timed> runs)
    {
        var sorted = runs.Select(r => r.Wall).Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>A full, compacting, blocking collection, so that one run's garbage is not collected in the next.</summary>
    public static void Collect()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}
