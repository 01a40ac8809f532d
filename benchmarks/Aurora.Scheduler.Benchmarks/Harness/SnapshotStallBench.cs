using System.Diagnostics;
using Aurora.Scheduler.Benchmarks.Generation;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.IO;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// <c>snapshot</c>, continued: the longest write stall a snapshot causes. A real
/// <see cref="SchedulerStore"/> (one replica, every append fsync'd) opens the generated log, then
/// one client writes back to back (<see cref="ClosedLoop"/>; a quota change per command, each
/// answered once committed and applied): one window with no snapshot running, then one while
/// <see cref="SchedulerStore.TakeSnapshotAsync"/> runs again and again. Reports each window's
/// commit latency (p50, p99, maximum) and GC pauses, and the store's heap per task (it keeps two
/// copies of the state: the applied state and the leader's decision copy).
/// </summary>
internal static class SnapshotStallBench
{
    private const double GoalStallMs = 50;
    private const double GoalBytesPerTask = 2048;
    private static readonly WindowOptions Window = new(Seconds: 6, WarmupSeconds: 1, Reps: 1, MaxCount: long.MaxValue, Directory: null);

    public static async Task RunAsync(Workload workload, string directory, Report report, CancellationToken cancellationToken)
    {
        var source = workload.LogOptions ?? throw new InvalidOperationException("the workload was not written to disk");
        workload.CopyToReplica(directory);

        Timings.Collect();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var open = Stopwatch.StartNew();
        await using var store = await SchedulerStore.OpenAsync(new SchedulerStoreOptions { Directory = directory }, cancellationToken: cancellationToken);
        var openSeconds = open.Elapsed.TotalSeconds;
        var tasks = store.Read(s => s.TaskCount);
        Timings.Collect();
        var heapPerTask = (GC.GetTotalMemory(forceFullCollection: true) - heapBefore) / (double)tasks;

        var written = 0;
        async Task<bool> Write()
        {
            var i = Interlocked.Increment(ref written);
            await store.ExecuteAsync(new SetQuota($"stall-{i % 100}", new Resources { NumCpus = 1 + (i % 1000), RamMb = 1024, DiskMb = 1024 }), "admin", CancellationToken.None);
            return true;
        }

        // The first snapshot (the whole state's first encoding) is taken before anything is measured.
        await store.TakeSnapshotAsync(cancellationToken);
        var quiet = await ClosedLoop.RunAsync("no snapshot running", 1, Write, 0, () => 0, Window, cancellationToken);

        // Snapshots one after another from the warm-up on, until the window has ended.
        var snapshotSeconds = new List<double>();
        var during = await WhileRepeating("while snapshots run", Write, async () =>
        {
            var watch = Stopwatch.StartNew();
            if (await store.TakeSnapshotAsync(cancellationToken) is null)
            {
                throw new InvalidOperationException("a snapshot found nothing new to take although writes were running");
            }

            snapshotSeconds.Add(watch.Elapsed.TotalSeconds);
        }, cancellationToken);

        // Where a stall comes from: the two halves of a snapshot, each alone, again and again.
        var encodeOnly = await WhileRepeating("while only encoded", Write, () =>
        {
            GC.KeepAlive(store.Read(s => s.Capture()).Encode());
            return Task.CompletedTask;
        }, cancellationToken);
        var blob = store.Read(s => s.Capture()).Encode();
        var scratch = new SnapshotStore(new SnapshotOptions { Directory = Path.Combine(directory, "write-only"), RetainCount = 1 });
        ulong position = 0;
        var writeOnly = await WhileRepeating("while only written", Write, () =>
        {
            scratch.Write(++position, 1, SchedulerState.SnapshotBlobType, blob);
            return Task.CompletedTask;
        }, cancellationToken);

        report.Line($"---- snapshot stall: a store of {tasks} tasks (opened in {openSeconds:F2} s), one client writing back to back for {Window.Seconds:F0} s, without and while snapshots are taken one after another ----");
        report.Line($"  {"window",-24} {"writes",7} {"p50_ms",7} {"p99_ms",7} {"max_ms",7} {"gc0/1/2",9} {"gc_pause_ms",11}");
        foreach (var m in new[] { quiet, during, encodeOnly, writeOnly })
        {
            report.Line($"  {m.Case,-24} {m.Records,7} {m.P50 / 1000,7:F2} {m.P99 / 1000,7:F2} {m.Max / 1000,7:F2} {$"{m.Usage.Gen0}/{m.Usage.Gen1}/{m.Usage.Gen2}",9} {m.Usage.GcPauseMillis,11:F0}");
        }

        report.Line($"  (only encoded: capture and StateCapture.Encode of the store's state, nothing written; only written: SnapshotStore.Write of a {blob.Length / 1048576.0:F1} MiB snapshot, nothing encoded)");
        report.Line($"  {snapshotSeconds.Count} snapshots, {Stats.Median(snapshotSeconds):F2} s each (median; capture, encode, fsync'd write, log truncation behind it)");
        var stall = during.Max / 1000;
        report.Line($"  goal: the longest commit while snapshots of 100,000 tasks are taken <= {GoalStallMs:F0} ms: {stall:F1} ms at {tasks} tasks (p99 {during.P99 / 1000:F1} ms; with no snapshot the longest was {quiet.Max / 1000:F1} ms) {report.Goal(stall <= GoalStallMs * Math.Max(1, tasks / 100_000.0))}");
        report.Line($"  goal: store heap per task (both copies of the state) < {GoalBytesPerTask:F0} bytes: {heapPerTask:F0} {report.Goal(heapPerTask < GoalBytesPerTask)}");
    }

    /// <summary>A <see cref="ClosedLoop"/> window of <paramref name="write"/> while <paramref name="background"/> runs again and again, from the warm-up on until the window has ended.</summary>
    private static async Task<Measurement> WhileRepeating(string name, Func<Task<bool>> write, Func<Task> background, CancellationToken cancellationToken)
    {
        var loaded = ClosedLoop.RunAsync(name, 1, write, 0, () => 0, Window, cancellationToken);
        while (!loaded.IsCompleted)
        {
            await Task.Run(background, cancellationToken);
        }

        return await loaded;
    }
}
