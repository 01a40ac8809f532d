using Aurora.Scheduler.Benchmarks.Generation;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Log;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// <c>replay</c>: how fast the generated log folds into a state, on one thread. (a) decode + apply
/// from in-memory entries (the domain's speed), (b) <see cref="StateReplayer.Replay"/> from the log
/// on disk (read, CRC checks, decode, apply), and the layers in between, best of N after a warm-up.
/// Beside them, not judged by the one-core goal: (c) the same replay decoding on a second thread,
/// as <c>aurora-log state</c> runs it, and (d) a lone replica's restart on the log (open, replay,
/// election), which the decision copy's build adds to.
/// </summary>
internal static class ReplayBench
{
    private const double GoalEventsPerSecond = 1_000_000;

    public static void Run(Workload workload, int reps, string directory, Report report, CancellationToken cancellationToken)
    {
        var entries = workload.Entries;
        var counts = workload.Counts;
        var expectedHash = workload.State.StateHash();

        var decoded = new Transaction[entries.Count];
        var infos = new TransactionInfo[entries.Count];
        var decode = Timings.BestOf(reps, () =>
        {
            for (var i = 0; i < entries.Count; i++)
            {
                decoded[i] = TransactionCodec.Decode(entries[i]);
                infos[i] = TransactionCodec.Info(entries[i]);
            }
        }, cancellationToken);

        SchedulerState? last = null;
        var apply = Timings.BestOf(reps, () =>
        {
            var state = new SchedulerState();
            for (var i = 0; i < decoded.Length; i++)
            {
                state.Apply(infos[i], decoded[i]);
            }

            last = state;
        }, cancellationToken);
        Check(last!, expectedHash, "apply of pre-decoded transactions");
        last = null;
        var byKind = ApplyByKind(decoded, infos, reps);

        var inMemory = Timings.BestOf(reps, () =>
        {
            var state = new SchedulerState();
            foreach (var entry in entries)
            {
                TransactionCodec.ApplyTo(state, entry);
            }

            last = state;
        }, cancellationToken);
        Check(last!, expectedHash, "decode + apply");
        last = null;
        decoded = [];

        var options = workload.LogOptions ?? throw new InvalidOperationException("the workload was not written to disk");
        var open = Timed.Run(() => SegmentedLog.Open(options).Dispose());
        using var log = SegmentedLog.Open(options);
        var read = Timings.BestOf(reps, () =>
        {
            long n = 0;
            foreach (var entry in log.Read(1))
            {
                n += entry.Payload.Value.Length > 0 ? 1 : 0;
            }

            if (n != entries.Count)
            {
                throw new InvalidOperationException($"read {n} entries back, wrote {entries.Count}");
            }
        }, cancellationToken);

        ReplayResult? result = null;
        var disk = Timings.BestOf(reps, () => result = StateReplayer.Replay(log, null, ReplayTarget.Latest), cancellationToken);
        if (result!.EventsReplayed != counts.Events || result.EntriesReplayed != counts.Entries)
        {
            throw new InvalidOperationException($"StateReplayer replayed {result.EntriesReplayed} entries / {result.EventsReplayed} events, expected {counts.Entries} / {counts.Events}");
        }

        Check(result.State, expectedHash, "StateReplayer.Replay");
        result = null;

        // What aurora-log state runs on a machine with a second core.
        var ahead = Timings.BestOf(reps, () => result = StateReplayer.Replay(log, null, ReplayTarget.Latest, ReplayDecoding.Ahead), cancellationToken);
        Check(result!.State, expectedHash, "StateReplayer.Replay, decoding ahead");
        result = null;

        // A lone replica's restart: open the store on the log (no snapshot), replay it, take the lead.
        var replica = Path.Combine(directory, "restart");
        workload.CopyToReplica(replica);
        var restart = Timings.BestOf(reps, () =>
        {
            using var store = SchedulerStore.Open(new SchedulerStoreOptions { Directory = replica });
            if (store.AppliedPosition < (ulong)counts.Entries)
            {
                throw new InvalidOperationException($"the restarted store applied {store.AppliedPosition} entries of {counts.Entries}");
            }
        }, cancellationToken);

        report.Line($"---- replay: {counts.Entries} entries, {counts.Events} events, {counts.TaskChanges} task changes; best of {reps} after a warm-up, one thread ----");
        report.Line($"  {"case",-46} {"best_s",7} {"median_s",8} {"entries/s",10} {"events/s",10} {"task_chg/s",10} {"cpu_s",6} {"events/cpu_s",12} {"gc0/1/2",9}");
        void Row(string name, List<Timed> runs)
        {
            var best = runs.Best();
            report.Line($"  {name,-46} {best.Wall,7:F3} {runs.Median(),8:F3} {counts.Entries / best.Wall,10:F0} {counts.Events / best.Wall,10:F0} {counts.TaskChanges / best.Wall,10:F0} {best.Cpu,6:F2} {counts.Events / best.Cpu,12:F0} {best.Collections,9}");
        }

        Row("decode only (in memory)", decode);
        Row("apply only (pre-decoded)", apply);
        Row("(a) decode + apply (in memory)", inMemory);
        Row("log Read(1) only (disk, warm)", read);
        Row("(b) StateReplayer.Replay (disk)", disk);
        Row("(c) as (b), decoding ahead (2 threads)", ahead);
        Row("(d) SchedulerStore.Open (restart, 1 replica)", restart);
        report.Line($"  log open (recovery scan, read-only): {open.Wall:F3} s");
        var a = counts.Events / inMemory.Best().Wall;
        var b = counts.Events / disk.Best().Wall;
        report.Line($"  goal: replay >= 1,000,000 events/s on one core: (a) {a:F0} events/s {report.Goal(a >= GoalEventsPerSecond)}; (b) {b:F0} events/s {report.Goal(b >= GoalEventsPerSecond)}");
        report.Line($"  per event (a): {inMemory.Best().Wall / counts.Events * 1e9:F0} ns = decode {decode.Best().Wall / counts.Events * 1e9:F0} + apply {apply.Best().Wall / counts.Events * 1e9:F0} ns + the GC's promotion of the growing state; per task change: {inMemory.Best().Wall / counts.TaskChanges * 1e9:F0} ns");
        report.Line($"  apply time by event kind (pre-decoded, each event timed alone, events during which a collection ran apart; best of {reps}):");
        report.Line($"    {"kind",-26} {"events",8} {"task_chg",8} {"share",6} {"ns/event",9} {"ns/task_chg",11}");
        foreach (var kind in byKind.Where(k => k.Value.Events > 0).OrderByDescending(k => k.Value.Ticks))
        {
            var (n, changes, ticks) = kind.Value;
            var ns = ticks * 1e9 / System.Diagnostics.Stopwatch.Frequency;
            report.Line($"    {kind.Key,-26} {n,8} {changes,8} {ticks / (double)byKind.Values.Sum(v => v.Ticks),6:P0} {ns / n,9:F0} {(changes == 0 ? 0 : ns / changes),11:F0}");
        }
    }

    /// <summary>The row of events during which a collection ran, whatever their kind.</summary>
    private const string CollectionRan = "(a collection ran)";

    /// <summary>
    /// Apply per event kind: every event applied alone between two timestamps; the least total per kind over the runs.
    /// An event during which a collection ran is counted in its own row, not its kind's: a collection's pause
    /// (milliseconds, copying the growing state) would otherwise be charged to whichever kind allocated when the
    /// budget ran out, and make a rare kind look thousands of times slower than its code.
    /// </summary>
    private static Dictionary<string, (long Events, long Changes, long Ticks)> ApplyByKind(Transaction[] decoded, TransactionInfo[] infos, int reps)
    {
        Dictionary<string, (long Events, long Changes, long Ticks)>? best = null;
        for (var rep = 0; rep <= reps; rep++)
        {
            Timings.Collect();
            var totals = new Dictionary<string, (long Events, long Changes, long Ticks)>(StringComparer.Ordinal) { [CollectionRan] = default };
            var state = new SchedulerState();
            for (var i = 0; i < decoded.Length; i++)
            {
                foreach (var e in decoded[i].Events)
                {
                    var collections = GC.CollectionCount(0);
                    var start = System.Diagnostics.Stopwatch.GetTimestamp();
                    state.Apply(infos[i], e);
                    var ticks = System.Diagnostics.Stopwatch.GetTimestamp() - start;
                    var kind = GC.CollectionCount(0) == collections ? e.KindCase.ToString() : CollectionRan;
                    var (n, changes, sum) = totals.GetValueOrDefault(kind);
                    totals[kind] = (n + 1, changes + LogCounts.TaskChangesOf(e), sum + ticks);
                }
            }

            // The first pass is the warm-up.
            if (rep > 0)
            {
                best = best is null ? totals : best.Keys.Union(totals.Keys).ToDictionary(k => k, k => Least(best.GetValueOrDefault(k), totals.GetValueOrDefault(k)), StringComparer.Ordinal);
            }
        }

        return best!;

        // A kind whose every event of a run met a collection has no row in that run; the other run's row stands.
        static (long Events, long Changes, long Ticks) Least((long Events, long Changes, long Ticks) a, (long Events, long Changes, long Ticks) b) =>
            a.Events == 0 ? b : b.Events == 0 || a.Ticks <= b.Ticks ? a : b;
    }

    private static void Check(SchedulerState state, byte[] expectedHash, string what)
    {
        if (!state.StateHash().AsSpan().SequenceEqual(expectedHash))
        {
            throw new InvalidOperationException($"{what} did not rebuild the generator's state (hash mismatch)");
        }
    }
}
