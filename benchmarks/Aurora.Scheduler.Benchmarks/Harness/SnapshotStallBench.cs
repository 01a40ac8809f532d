using System.Diagnostics;
using Aurora.Scheduler.Benchmarks.Generation;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Storage.IO;
using Aurora.Storage.Replica;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// <c>snapshot</c>, continued: the longest write stall a snapshot causes. A real
/// <see cref="SchedulerStore"/> (one replica, every append fsync'd) opens the generated log, then
/// one client writes back to back (a quota change per command, each answered once committed and
/// applied): first with no snapshot running, then while <see cref="SchedulerStore.TakeSnapshotAsync"/>
/// runs again and again. Reports each phase's commit latency (p50, p99, maximum) and the store's
/// heap per task (it keeps two copies of the state: the applied state and the leader's decision copy).
/// </summary>
internal static class SnapshotStallBench
{
    private const double GoalStallMs = 50;
    private const double GoalBytesPerTask = 2048;
    private static readonly TimeSpan Baseline = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(Workload workload, int snapshots, string directory, Report report, CancellationToken cancellationToken)
    {
        var source = workload.LogOptions ?? throw new InvalidOperationException("the workload was not written to disk");
        CopyDirectory(source.Directory, directory);
        new ReplicaMetadataStore(PhysicalFileSystem.Instance, directory).Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow));

        Timings.Collect();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var open = Stopwatch.StartNew();
        await using var store = await SchedulerStore.OpenAsync(new SchedulerStoreOptions { Directory = directory }, cancellationToken: cancellationToken);
        var openSeconds = open.Elapsed.TotalSeconds;
        var tasks = store.Read(s => s.TaskCount);
        Timings.Collect();
        var heapPerTask = (GC.GetTotalMemory(forceFullCollection: true) - heapBefore) / (double)tasks;

        // Warm-up: the write path's code is compiled, and the first snapshot (the whole state's first
        // encoding) is taken before anything is measured.
        await WriteAsync(store, 0, TimeSpan.FromSeconds(1), [], cancellationToken);
        await store.TakeSnapshotAsync(cancellationToken);

        var quiet = new List<double>();
        var pausedBefore = GC.GetTotalPauseDuration();
        await WriteAsync(store, 1_000_000, Baseline, quiet, cancellationToken);
        var quietPauses = GC.GetTotalPauseDuration() - pausedBefore;
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        pausedBefore = GC.GetTotalPauseDuration();

        var during = new List<double>();
        var snapshotSeconds = new List<double>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writer = WriteAsync(store, 2_000_000, Timeout.InfiniteTimeSpan, during, stop.Token);
        for (var i = 0; i < snapshots; i++)
        {
            var watch = Stopwatch.StartNew();
            if (await store.TakeSnapshotAsync(cancellationToken) is null)
            {
                throw new InvalidOperationException("a snapshot found nothing new to take although writes were running");
            }

            snapshotSeconds.Add(watch.Elapsed.TotalSeconds);
        }

        await stop.CancelAsync();
        await writer;
        var duringPauses = GC.GetTotalPauseDuration() - pausedBefore;
        var collections = $"{GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}";

        snapshotSeconds.Sort();
        report.Line($"---- snapshot stall: a store of {tasks} tasks (opened in {openSeconds:F2} s), one client writing back to back, {snapshots} snapshots taken one after another ----");
        report.Line($"  {"phase",-44} {"writes",7} {"p50_ms",7} {"p99_ms",7} {"max_ms",7}");
        void Row(string phase, List<double> latencies)
        {
            latencies.Sort();
            report.Line($"  {phase,-44} {latencies.Count,7} {Percentile(latencies, 0.50),7:F2} {Percentile(latencies, 0.99),7:F2} {latencies[^1],7:F2}");
        }

        Row($"no snapshot running ({Baseline.TotalSeconds:F0} s)", quiet);
        Row($"while snapshots run ({snapshotSeconds.Sum():F1} s)", during);
        report.Line($"  a snapshot took {snapshotSeconds[snapshotSeconds.Count / 2]:F2} s (median; capture, encode, fsync'd write, log truncation behind it)");
        report.Line($"  GC pauses: {quietPauses.TotalMilliseconds:F0} ms in all with no snapshot; {duringPauses.TotalMilliseconds:F0} ms in all while snapshots ran (gen0/1/2 collections {collections})");
        var stall = during[^1];
        report.Line($"  goal: the longest commit while snapshots of 100,000 tasks are taken <= {GoalStallMs:F0} ms: {stall:F1} ms at {tasks} tasks (p99 {Percentile(during, 0.99):F1} ms; with no snapshot the longest was {quiet[^1]:F1} ms) {report.Goal(stall <= GoalStallMs * Math.Max(1, tasks / 100_000.0))}");
        report.Line($"  goal: store heap per task (both copies of the state) < {GoalBytesPerTask:F0} bytes: {heapPerTask:F0} {report.Goal(heapPerTask < GoalBytesPerTask)}");
    }

    /// <summary>One client's commands back to back until <paramref name="length"/> passes or it is cancelled; each latency in milliseconds.</summary>
    private static async Task WriteAsync(SchedulerStore store, int first, TimeSpan length, List<double> latencies, CancellationToken cancellationToken)
    {
        var until = length == Timeout.InfiniteTimeSpan ? long.MaxValue : Stopwatch.GetTimestamp() + (long)(length.TotalSeconds * Stopwatch.Frequency);
        for (var i = first; Stopwatch.GetTimestamp() < until && !cancellationToken.IsCancellationRequested; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await store.ExecuteAsync(new SetQuota($"stall-{i % 100}", new Resources { NumCpus = 1 + (i % 1000), RamMb = 1024, DiskMb = 1024 }), "admin", CancellationToken.None);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
