using Aurora.Scheduler.Benchmarks.Generation;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Log;
using Aurora.Storage.Snapshots;
using Google.Protobuf;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// <c>snapshot</c>: the generated state as a snapshot. The capture (all a snapshot holds the apply
/// loop back for), ToSnapshot and serialization, the direct encoding a store writes (done after the capture, while entries apply), the fsync'd write through <see cref="SnapshotStore"/>, and the load a
/// restart pays: read the file (header and CRC checked), parse, <see cref="SchedulerState.FromSnapshot(SchedulerSnapshot)"/>;
/// and the store's decision copy, <see cref="SchedulerState.Clone"/>, against the round trip through a snapshot it replaced.
/// </summary>
internal static class SnapshotBench
{
    private const double GoalLoadSeconds = 1.0;

    public static void Run(Workload workload, int reps, string directory, Report report, CancellationToken cancellationToken)
    {
        var state = workload.State;
        var expectedHash = state.StateHash();
        var position = (ulong)workload.Entries.Count;

        // A store holds its apply loop back only for the capture; the rest runs while entries apply.
        StateCapture? capture = null;
        var captureTimes = Timings.BestOf(reps, () => capture = state.Capture(), cancellationToken);
        GC.KeepAlive(capture);
        capture = null;
        SchedulerSnapshot snapshot = new();
        var fromCapture = Timings.BestOf(reps, () => snapshot = state.Capture().ToSnapshot(), cancellationToken);
        var toSnapshot = Timings.BestOf(reps, () => snapshot = state.ToSnapshot(), cancellationToken);
        var blob = Array.Empty<byte>();
        var serialize = Timings.BestOf(reps, () => blob = snapshot.ToByteArray(), cancellationToken);
        var encoded = Array.Empty<byte>();
        var encode = Timings.BestOf(reps, () => encoded = state.Capture().Encode(), cancellationToken);
        if (!encoded.AsSpan().SequenceEqual(blob))
        {
            throw new InvalidOperationException("StateCapture.Encode differs from the serialized snapshot");
        }

        encoded = [];

        var store = new SnapshotStore(new SnapshotOptions { Directory = directory, RetainCount = 1 });
        SnapshotInfo? info = null;
        var write = Timings.BestOf(reps, () => info = store.Write(position, LogWriter.Term, SchedulerState.SnapshotBlobType, blob), cancellationToken);
        var path = info!.Path;

        var read = Timings.BestOf(reps, () => store.Read(path), cancellationToken);
        var parse = Timings.BestOf(reps, () => SchedulerSnapshot.Parser.ParseFrom(blob), cancellationToken);
        var parsed = SchedulerSnapshot.Parser.ParseFrom(blob);
        var build = Timings.BestOf(reps, () => SchedulerState.FromSnapshot(parsed), cancellationToken);

        // FromSnapshot interns every task's configuration, and a protobuf message's hash code is
        // computed over the whole message each time: what that costs on its own.
        var hashing = Timings.BestOf(reps, () =>
        {
            var sum = 0;
            foreach (var t in parsed.Tasks)
            {
                sum += parsed.TaskConfigs[(int)t.ConfigIndex].GetHashCode();
            }

            GC.KeepAlive(sum);
        }, cancellationToken);
        SchedulerState? loaded = null;
        var load = Timings.BestOf(reps, () => loaded = SchedulerState.FromSnapshot(SchedulerSnapshot.Parser.ParseFrom(store.Read(path).Blob)), cancellationToken);
        if (!loaded!.StateHash().AsSpan().SequenceEqual(expectedHash))
        {
            throw new InvalidOperationException("the snapshot did not load back into the same state (hash mismatch)");
        }

        loaded = null;

        // What a store's decision copy is made with, against the snapshot round trip it replaced.
        SchedulerState? copy = null;
        var clone = Timings.BestOf(reps, () => copy = state.Clone(), cancellationToken);
        if (!copy!.StateHash().AsSpan().SequenceEqual(expectedHash))
        {
            throw new InvalidOperationException("the clone is not the same state (hash mismatch)");
        }

        copy = null;
        var roundTrip = Timings.BestOf(reps, () => copy = SchedulerState.FromSnapshot(state.ToSnapshot()), cancellationToken);
        copy = null;
        var options = workload.LogOptions ?? throw new InvalidOperationException("the workload was not written to disk");
        using var log = SegmentedLog.Open(options);
        ReplayResult? recovered = null;
        var recovery = Timings.BestOf(reps, () => recovered = StateReplayer.Replay(log, store, ReplayTarget.Latest), cancellationToken);
        if (recovered!.Snapshot?.Position != position || recovered.EntriesReplayed != 0)
        {
            throw new InvalidOperationException("the recovery did not start from the snapshot");
        }

        recovered = null;
        var tasks = state.TaskCount;
        report.Line($"---- snapshot: {tasks} tasks, {state.DistinctConfigCount} distinct configs, {snapshot.Hosts.Count} hosts, {snapshot.JobUpdates.Count} job updates; best of {reps} after a warm-up ----");
        report.Line($"  snapshot size: {blob.Length} bytes ({blob.Length / 1048576.0:F1} MiB, {blob.Length / (double)tasks:F0} bytes/task); task configs {snapshot.TaskConfigs.Sum(c => c.CalculateSize()) / 1048576.0:F2} MiB, tasks {snapshot.Tasks.Sum(t => t.CalculateSize()) / 1048576.0:F1} MiB, updates {snapshot.JobUpdates.Sum(u => u.CalculateSize()) / 1048576.0:F1} MiB");
        report.Line($"  {"step",-52} {"best_s",7} {"median_s",8} {"cpu_s",6} {"gc0/1/2",9}");
        void Row(string name, List<Timed> runs)
        {
            var best = runs.Best();
            report.Line($"  {name,-52} {best.Wall,7:F3} {runs.Median(),8:F3} {best.Cpu,6:F2} {best.Collections,9}");
        }

        Row("Capture (what holds the apply loop back)", captureTimes);
        Row("Capture + StateCapture.ToSnapshot (state -> message)", fromCapture);
        Row("ToSnapshot (state -> message)", toSnapshot);
        Row("serialize (message -> bytes)", serialize);
        Row("Capture + StateCapture.Encode (what a store writes)", encode);
        Row("SnapshotStore.Write (temp file, fdatasync, rename)", write);
        Row("  load: SnapshotStore.Read (file + header + CRC)", read);
        Row("  load: parse (bytes -> message)", parse);
        Row("  load: SchedulerState.FromSnapshot (message -> state)", build);
        Row("    of which TaskConfig.GetHashCode once per task", hashing);
        Row("load: read + parse + FromSnapshot", load);
        Row("StateReplayer.Replay from this snapshot (0 tail)", recovery);
        Row("decision copy: SchedulerState.Clone", clone);
        Row("decision copy before: FromSnapshot(ToSnapshot())", roundTrip);
        var loadSeconds = load.Best().Wall;
        var per100K = loadSeconds * 100_000 / tasks;
        var heldMs = captureTimes.Median() * 1000 * 100_000 / tasks;
        report.Line($"  goal: writes held back by a snapshot <= 50 ms per 100,000 tasks: the capture, {captureTimes.Median() * 1000:F1} ms (median) for {tasks} tasks ({heldMs:F1} ms per 100,000; before the capture, ToSnapshot and serialize held them: {(toSnapshot.Median() + serialize.Median()) * 1000:F0} ms) {report.Goal(heldMs <= 50)}");
        report.Line($"  goal: snapshot load of 100,000 tasks < 1 s: {loadSeconds:F3} s for {tasks} tasks ({per100K:F3} s per 100,000; process CPU {load.Best().Cpu:F3} s) {report.Goal(per100K < GoalLoadSeconds && loadSeconds < GoalLoadSeconds)}");
    }
}
