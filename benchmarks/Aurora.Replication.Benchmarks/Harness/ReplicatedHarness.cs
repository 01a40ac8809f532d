using System.Globalization;
using System.Text;
using Aurora.Storage.Log;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Replication.Benchmarks.Harness;

/// <summary>
/// <c>replicated</c>: proposals of one 1 KiB entry from 1, 16 and 64 concurrent proposers, on one
/// replica and on three over loopback TCP, held against the disk's own pwrite + fdatasync measured
/// in the same run; the repetitions of every case are interleaved, because the disk drifts between
/// runs. <c>shared_64</c> runs three lone replicas side by side, 64 proposers each: what one
/// replica gets from this machine when it shares the cores and the disk with two others doing the
/// same writes, which is what each replica of <c>three_64</c> has here.
/// </summary>
internal static class ReplicatedHarness
{
    private static readonly int[] Concurrency = [1, 16, 64];

    /// <summary>What the 1-proposer latency goal allows on top of the fdatasyncs: the network and the thread hops.</summary>
    private const double SlackMicros = 100;

    private static readonly TimeSpan FailureBackoff = TimeSpan.FromMilliseconds(10);

    public static async Task<int> RunAsync(Settings settings)
    {
        using var scratch = new ScratchDirectory(settings.Window.Directory);
        var interrupted = scratch.Interrupted;
        var payload = Payloads.Blob(Payloads.DefaultPayloadBytes);
        var loadBefore = Machine.Announce(scratch.Path, $"{settings}; {Payloads.Describe(payload)}");

        var results = new List<(int Rep, Measurement Result)>();
        // Three files: one for fsync, all three at once for fsync_3 (what three replicas do to one disk).
        var raws = Enumerable.Range(0, 3).Select(i => new RawDisk(scratch.Sub($"raw-{i}.bin"), settings.RawFileBytes)).ToArray();
        try
        {
            var one = await Cluster.StartAsync("one", 1, scratch.Path, settings.Timings, StderrLogger.Factory, OnFatal, interrupted);
            await using (one.ConfigureAwait(false))
            {
                var three = await Cluster.StartAsync("three", 3, scratch.Path, settings.Timings, StderrLogger.Factory, OnFatal, interrupted);
                await using (three.ConfigureAwait(false))
                {
                    var second = await Cluster.StartAsync("one-b", 1, scratch.Path, settings.Timings, StderrLogger.Factory, OnFatal, interrupted);
                    await using var secondDisposal = second.ConfigureAwait(false);
                    var third = await Cluster.StartAsync("one-c", 1, scratch.Path, settings.Timings, StderrLogger.Factory, OnFatal, interrupted);
                    await using var thirdDisposal = third.ConfigureAwait(false);
                    Cluster[] lones = [one, second, third];
                    Console.WriteLine($"# one: {one.Describe()}");
                    Console.WriteLine($"# three: {three.Describe()}");

                    // Unrecorded: JIT, thread pool growth, connections, the first background segment preparation.
                    raws[0].Run(1, TimeSpan.Zero, TimeSpan.FromSeconds(0.3), 1000, interrupted);
                    foreach (var cluster in new[] { one, three, second, third })
                    {
                        await ProposeAsync(cluster, 64, payload, WindowOptions.FirstRun, interrupted);
                        await cluster.ConvergeAndTruncateAsync(interrupted);
                    }

                    for (var rep = 1; rep <= settings.Window.Reps; rep++)
                    {
                        results.Add((rep, MeasureFsync(raws[0], settings, rep, interrupted)));
                        results.Add((rep, MeasureConcurrentFsyncs(raws, settings, rep, interrupted)));
                        for (var i = 0; i < Concurrency.Length; i++)
                        {
                            // Alternate which of the pair goes first so neither always gets the fresher disk.
                            var pair = (rep + i) % 2 == 1 ? new[] { one, three } : [three, one];
                            foreach (var cluster in pair)
                            {
                                results.Add((rep, await MeasureClusterAsync(cluster, Concurrency[i], payload, settings, rep, interrupted)));
                            }
                        }

                        results.Add((rep, await MeasureSharedAsync(lones, 64, payload, settings, rep, interrupted)));
                    }
                }
            }
        }
        finally
        {
            foreach (var raw in raws)
            {
                raw.Dispose();
            }
        }

        var summary = Summarize(results, settings, scratch.Path, loadBefore, Machine.LoadAverage(), out var allPass);
        Console.WriteLine();
        Console.Write(summary);
        return allPass ? 0 : 1;
    }

    private static Measurement MeasureFsync(RawDisk raw, Settings settings, int rep, CancellationToken cancellationToken)
    {
        Machine.Settle();
        var result = raw.Run(1, settings.Window.Warmup, settings.Window.Duration, settings.Window.MaxCount, cancellationToken) with { Case = "fsync" };
        Console.WriteLine(result.ToLine(rep));
        return result;
    }

    /// <summary>
    /// <c>fsync_3</c>: the same pwrite + fdatasync from three threads at once, each on its own file:
    /// what the three replicas' writers do to the one disk they share here. Latencies of all three.
    /// </summary>
    private static Measurement MeasureConcurrentFsyncs(RawDisk[] raws, Settings settings, int rep, CancellationToken cancellationToken)
    {
        Machine.Settle();
        var window = settings.Window;
        var runs = raws.Select(raw => Task.Factory.StartNew(
            () => raw.Run(1, window.Warmup, window.Duration, window.MaxCount, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        Task.WaitAll(runs, CancellationToken.None);
        var result = Pooled("fsync_3", [.. runs.Select(r => r.Result)], 1);
        Console.WriteLine(result.ToLine(rep));
        return result;
    }

    private static async Task<Measurement> MeasureClusterAsync(Cluster cluster, int proposers, Any payload, Settings settings, int rep, CancellationToken cancellationToken)
    {
        Machine.Settle();
        await cluster.FindLeaderAsync(cancellationToken);
        var syncsBefore = cluster.SyncsByReplica();
        cluster.TakeSlowestSyncMillis();
        var result = await ProposeAsync(cluster, proposers, payload, settings.Window, cancellationToken);
        var syncs = cluster.SyncsByReplica().Zip(syncsBefore, (after, before) => after - before);
        Console.WriteLine(Invariant($"{result.ToLine(rep)} replicas={cluster.Size} entries_per_sync_per_replica={EntriesPerSync(result, cluster.Size):F1} syncs_by_replica={string.Join('/', syncs)} slowest_sync_ms={string.Join('/', cluster.TakeSlowestSyncMillis().Select(ms => ms.ToString("F1", CultureInfo.InvariantCulture)))}"));
        if (cluster.TakeFailures() is { } failures)
        {
            Console.Error.WriteLine($"{cluster.Name}_{proposers} rep {rep}: {failures}");
        }

        // Outside the window: every replica catches up, and the log before that is dropped.
        await cluster.ConvergeAndTruncateAsync(cancellationToken);
        return result;
    }

    /// <summary>
    /// <c>shared_N</c>: three lone replicas at once, N proposers each. Entries/s, bytes and syncs per
    /// replica (the three summed, divided by three); the latencies of all.
    /// </summary>
    private static async Task<Measurement> MeasureSharedAsync(Cluster[] lones, int proposers, Any payload, Settings settings, int rep, CancellationToken cancellationToken)
    {
        Machine.Settle();
        foreach (var lone in lones)
        {
            await lone.FindLeaderAsync(cancellationToken);
        }

        var each = await Task.WhenAll(lones.Select(lone => ProposeAsync(lone, proposers, payload, settings.Window, cancellationToken)));
        var result = Pooled($"shared_{proposers}", each, each.Length);
        Console.WriteLine(Invariant($"{result.ToLine(rep)} replicas=1x{each.Length} entries_per_sync={result.RecordsPerSync:F1} entries_per_s_each={string.Join('/', each.Select(m => m.RecordsPerSecond.ToString("F0", CultureInfo.InvariantCulture)))}"));
        foreach (var lone in lones)
        {
            if (lone.TakeFailures() is { } failures)
            {
                Console.Error.WriteLine($"{lone.Name}_{proposers} (shared) rep {rep}: {failures}");
            }

            await lone.ConvergeAndTruncateAsync(cancellationToken);
        }

        return result;
    }

    /// <summary>
    /// Runs made at the same time, as one measurement: the latencies of all; records, bytes and syncs
    /// summed and divided by <paramref name="per"/> (1 for a total, the run count for each one's
    /// share); failures summed. Every run's window spans about the same time, and its CPU figure is
    /// the whole process's.
    /// </summary>
    private static Measurement Pooled(string name, IReadOnlyList<Measurement> each, int per)
    {
        var latencies = each.SelectMany(m => m.LatenciesMicros).ToArray();
        Array.Sort(latencies);
        return new Measurement(name, each.Sum(m => m.Records) / per, each.Sum(m => m.Bytes) / per, each.Max(m => m.Seconds), latencies, each.Sum(m => m.Syncs) / per, each[0].Usage)
        {
            Failures = each.Sum(m => m.Failures),
        };
    }

    /// <summary>
    /// N proposers, each proposing one entry to the leader, awaiting the outcome (committed: held
    /// durably by a quorum), and proposing the next. A proposal that fails is counted, and the
    /// proposer looks for the leader again.
    /// </summary>
    private static Task<Measurement> ProposeAsync(Cluster cluster, int proposers, Any payload, WindowOptions window, CancellationToken cancellationToken) =>
        ClosedLoop.RunAsync(
            $"{cluster.Name}_{proposers}",
            proposers,
            async () =>
            {
                var outcome = await cluster.Leader.ProposeAsync([Payloads.Entry(payload)]);
                if (outcome.Committed)
                {
                    return true;
                }

                cluster.ProposalFailed(outcome.Failure);

                // Leadership moved (or lapsed): wait a little rather than spin, then find the leader.
                await Task.Delay(FailureBackoff, CancellationToken.None);
                await cluster.FindLeaderAsync(cancellationToken);
                return false;
            },
            Payloads.RecordBytes(payload),
            () => cluster.Syncs,
            window,
            cancellationToken);

    /// <summary>Entries per fdatasync on each replica (every replica writes every entry): the average group size.</summary>
    private static double EntriesPerSync(Measurement m, int replicas) => m.Syncs == 0 ? 0 : m.Records * (double)replicas / m.Syncs;

    private static string Summarize(List<(int Rep, Measurement Result)> results, Settings settings, string directory, string loadBefore, string loadAfter, out bool allPass)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
        Measurement Get(int rep, string name) => results.Single(r => r.Rep == rep && r.Result.Case == name).Result;
        var reps = results.Select(r => r.Rep).Distinct().Order().ToList();

        Line($"==== aurora replicated log benchmark: summary ====");
        Line($"machine: {Machine.Describe(directory)}");
        Line($"load average: start {loadBefore}, end {loadAfter}");
        Line($"{settings}");
        Line($"{"case",-9} {"entries/s",10} {"min..max",15} {"p50_ms",7} {"p99_ms",7} {"max_ms",7} {"ent/sync",8} {"cpu%",5} {"failed",6}");
        var cases = new List<(string Name, int Replicas)> { ("fsync", 1), ("fsync_3", 1) };
        foreach (var n in Concurrency)
        {
            cases.Add(($"one_{n}", 1));
            cases.Add(($"three_{n}", 3));
        }

        cases.Add(("shared_64", 1));

        foreach (var (name, replicas) in cases)
        {
            var runs = results.Where(r => r.Result.Case == name).Select(r => r.Result).ToList();
            var perSync = name.StartsWith("fsync", StringComparison.Ordinal) ? 1 : Stats.Median(runs.Select(r => EntriesPerSync(r, replicas)));
            Line($"{name,-9} {Stats.Median(runs.Select(r => r.RecordsPerSecond)),10:F0} {$"{runs.Min(r => r.RecordsPerSecond):F0}..{runs.Max(r => r.RecordsPerSecond):F0}",15} {Stats.Median(runs.Select(r => r.P50)) / 1000,7:F3} {Stats.Median(runs.Select(r => r.P99)) / 1000,7:F3} {runs.Max(r => r.Max) / 1000,7:F3} {perSync,8:F1} {Stats.Median(runs.Select(r => r.Usage.CpuPercent)),5:F0} {runs.Sum(r => r.Failures),6}");
        }

        Line($"ratios: median over reps of three/one within the same rep [each rep]");
        var pass = true;
        void Goal(string label, Func<int, double> perRepValue, string detail, string goal, Func<double, bool>? meets, params string[] inputs)
        {
            var perRep = reps.Select(perRepValue).ToList();
            var median = Stats.Median(perRep);
            var failed = reps.Sum(rep => inputs.Sum(name => Get(rep, name).Failures));
            var verdict = failed > 0 ? "INVALID" : meets is null ? "info" : meets(median) ? "PASS" : "MISS";
            pass &= verdict is "PASS" or "info";
            var each = string.Join(' ', perRep.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)));
            Line($"{label,-44} {median,6:F2} [{each}]  goal {goal,-7} {verdict}");
            Line($"    {detail}{(failed > 0 ? $"; {failed} proposals failed: not a valid figure" : string.Empty)}");
        }

        double Throughput(int rep, string name) => Get(rep, name).RecordsPerSecond;
        double MedianOf(Func<int, double> perRep) => Stats.Median(reps.Select(perRep));
        double FsyncP50(int rep) => Get(rep, "fsync").P50;

        Goal(
            "throughput three_64 / one_64",
            rep => Throughput(rep, "three_64") / Throughput(rep, "one_64"),
            Invariant($"three_64 {MedianOf(rep => Throughput(rep, "three_64")):F0} entries/s, one_64 {MedianOf(rep => Throughput(rep, "one_64")):F0} entries/s (medians)"),
            ">= 0.5",
            r => r >= 0.5,
            "three_64",
            "one_64");
        Goal(
            "p50 three_1 / (2 x fsync p50 + 0.1 ms)",
            rep => Get(rep, "three_1").P50 / ((2 * FsyncP50(rep)) + SlackMicros),
            Invariant($"three_1 p50 {MedianOf(rep => Get(rep, "three_1").P50) / 1000:F3} ms, 2 x fsync p50 + 0.1 ms = {MedianOf(rep => (2 * FsyncP50(rep)) + SlackMicros) / 1000:F3} ms (fsync p50 {MedianOf(FsyncP50) / 1000:F3} ms)"),
            "<= 1",
            r => r <= 1,
            "three_1");
        Goal(
            "p50 three_1 / (fsync_3 p50 + 0.1 ms)",
            rep => Get(rep, "three_1").P50 / (Get(rep, "fsync_3").P50 + SlackMicros),
            Invariant($"three_1 p50 {MedianOf(rep => Get(rep, "three_1").P50) / 1000:F3} ms, fsync_3 p50 + 0.1 ms = {MedianOf(rep => Get(rep, "fsync_3").P50 + SlackMicros) / 1000:F3} ms: against three fdatasyncs at once on this disk"),
            "-",
            null,
            "three_1");
        Goal(
            "p50 one_1 / (1 x fsync p50 + 0.1 ms)",
            rep => Get(rep, "one_1").P50 / (FsyncP50(rep) + SlackMicros),
            Invariant($"one_1 p50 {MedianOf(rep => Get(rep, "one_1").P50) / 1000:F3} ms, fsync p50 + 0.1 ms = {MedianOf(rep => FsyncP50(rep) + SlackMicros) / 1000:F3} ms"),
            "-",
            null,
            "one_1");
        Goal(
            "throughput three_64 / shared_64",
            rep => Throughput(rep, "three_64") / Throughput(rep, "shared_64"),
            Invariant($"three_64 {MedianOf(rep => Throughput(rep, "three_64")):F0} entries/s, shared_64 {MedianOf(rep => Throughput(rep, "shared_64")):F0} entries/s per replica: three lone replicas at once on these cores and this disk"),
            "-",
            null,
            "three_64",
            "shared_64");
        foreach (var n in Concurrency.Where(n => n != 64).Reverse())
        {
            Goal(
                $"throughput three_{n} / one_{n}",
                rep => Throughput(rep, $"three_{n}") / Throughput(rep, $"one_{n}"),
                Invariant($"three_{n} {MedianOf(rep => Throughput(rep, $"three_{n}")):F0} entries/s, one_{n} {MedianOf(rep => Throughput(rep, $"one_{n}")):F0} entries/s"),
                "-",
                null,
                $"three_{n}",
                $"one_{n}");
        }

        Line($"==== end ====");
        allPass = pass;
        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void OnFatal(Exception cause)
    {
        Console.Error.WriteLine($"fatal: a replica's log failed: {cause}");
        Environment.Exit(70);
    }

    internal sealed record Settings(WindowOptions Window, bool Relaxed)
    {
        /// <summary>The raw file wraps around at this size.</summary>
        public long RawFileBytes { get; init; } = 64L << 20;

        /// <summary>The consensus timings: the production defaults, or those of the TCP tests (for a loaded machine).</summary>
        public Cluster.Timings Timings => Relaxed ? Cluster.Timings.Relaxed : Cluster.Timings.Production;

        public static Settings Parse(string[] args)
        {
            var a = new Arguments(args, [.. WindowOptions.Names, "timings"]);
            return new Settings(
                WindowOptions.From(a),
                a.String("timings") switch
                {
                    null or "production" => false,
                    "relaxed" => true,
                    var other => throw new ArgumentException($"--timings {other}: production or relaxed"),
                });
        }

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"settings: {Window} entry=1024 B payload, fsync = 1 KiB pwrite + fdatasync in a {RawFileBytes >> 20} MiB zero-filled file, log segments {LogOptions.DefaultSegmentSize >> 20} MiB, consensus timings: {Timings}");
    }
}
