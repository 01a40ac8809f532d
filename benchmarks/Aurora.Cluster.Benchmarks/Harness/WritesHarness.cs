using System.Globalization;
using System.Net;
using System.Text;

namespace Aurora.Cluster.Benchmarks.Harness;

/// <summary>
/// <c>writes</c>: <c>PUT /api/quotas/{role}</c> from 1, 16 and 64 concurrent HTTP clients (closed
/// loop) to the leader of a lone <c>aurora-scheduler</c> and of three replicas, all real processes
/// from dist/bin on loopback, the cases of every rep interleaved; then etcd, ZooKeeper and PostgreSQL
/// measured by their own scripts with their own load generators, and the issue's goals against them.
/// </summary>
internal static class WritesHarness
{
    private static readonly int[] Concurrency = [1, 16, 64];

    private static readonly TimeSpan FailureBackoff = TimeSpan.FromMilliseconds(10);

    /// <summary>How long the replicas' CPU is measured with no client after each start (after as long a pause).</summary>
    private static readonly TimeSpan IdleSpan = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(Settings settings)
    {
        var bin = DistBin.Find(settings.Bin);
        using var scratch = new ScratchDirectory(settings.Window.Directory);
        var interrupted = scratch.Interrupted;
        var loadBefore = Machine.Announce(scratch.Path, settings.ToString());
        Console.WriteLine($"# scheduler: {Path.Combine(bin, DistBin.Scheduler)}");
        if (DistBin.StalenessWarning(bin) is { } stale)
        {
            Console.WriteLine($"# {stale}");
        }

        var results = new List<(int Rep, Run Result)>();
        var replicas = new List<SchedulerReplica>();
        var idle = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        using (var http = QuotaWrites.Client(2 * Concurrency.Max(), followRedirects: false, TimeSpan.FromSeconds(30)))
        using (var probe = QuotaWrites.Client(8, followRedirects: false, TimeSpan.FromSeconds(2)))
        {
            await using var one = await SchedulerCluster.CreateAsync("one", 1, bin, scratch.Path, probe, interrupted);
            await using var three = await SchedulerCluster.CreateAsync("three", 3, bin, scratch.Path, probe, interrupted);
            var writers = new[] { one, three }.ToDictionary(c => c, c => new Writer(c, http, Concurrency.Max()));
            foreach (var cluster in writers.Keys)
            {
                idle[cluster.Name] = [];
                replicas.AddRange(cluster.Replicas);
                foreach (var replica in cluster.Replicas)
                {
                    Console.WriteLine($"# {replica.Name}: {replica.CommandLine}");
                }
            }

            for (var rep = 1; rep <= settings.Window.Reps; rep++)
            {
                // One cluster's cases, then the other's, the order alternating between reps (so a
                // cluster runs on across the turn of a rep). Only the measured cluster runs: idle
                // replicas use CPU (their ticks and heartbeats), which the 2 cores cannot spare.
                foreach (var cluster in rep % 2 == 1 ? new[] { one, three } : [three, one])
                {
                    if (!cluster.Running)
                    {
                        await StartAloneAsync(cluster, writers, idle[cluster.Name], interrupted);
                    }

                    foreach (var clients in Concurrency)
                    {
                        results.Add((rep, await MeasureAsync(writers[cluster], clients, settings.Window, rep, interrupted)));
                    }
                }
            }
        }

        IReadOnlyList<PeerRun>? peers = null;
        if (settings.Peers)
        {
            Console.WriteLine();
            var peersDirectory = settings.PeersDirectory ?? DistBin.SharedPeers(bin);
            Console.WriteLine($"# peers: their own scripts in {peersDirectory}, one after the other, REPS={settings.PeerReps} SECS={settings.PeerSeconds}");
            peers = await Peers.RunAsync(peersDirectory, settings.PeerReps, settings.PeerSeconds, scratch.Sub("peer-results"), interrupted);
            foreach (var run in peers.Where(p => p.Problem is not null))
            {
                Console.Error.WriteLine($"warning: peer {run.Script}: {run.Problem}");
            }
        }

        var summary = Summarize(results, idle, peers, replicas, settings, scratch.Path, loadBefore, Machine.LoadAverage(), out var allPass);
        Console.WriteLine();
        Console.Write(summary);
        return allPass ? 0 : 1;
    }

    /// <summary>
    /// Stops the other clusters, starts <paramref name="cluster"/> (its log kept from its previous
    /// run) and waits for a leader; an unrecorded run of the most clients (JIT, connection pools,
    /// the thread pool's growth); then measures what the replicas use with no client.
    /// </summary>
    private static async Task StartAloneAsync(SchedulerCluster cluster, Dictionary<SchedulerCluster, Writer> writers, List<double> idle, CancellationToken cancellationToken)
    {
        foreach (var other in writers.Keys.Where(c => c != cluster && c.Running))
        {
            await other.StopAsync();
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await cluster.StartAsync(cancellationToken);
        var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var writer = writers[cluster];
        await writer.RunAsync(Concurrency.Max(), WindowOptions.FirstRun, cancellationToken);
        if (writer.Failures.Take() is { } failures)
        {
            Console.Error.WriteLine($"{cluster.Name} warm-up: {failures}");
        }

        // Idle: after the start's and the warm-up's JIT and collections have settled.
        await Task.Delay(IdleSpan, cancellationToken);
        var idleCpu = await cluster.IdleCpuPercentAsync(IdleSpan, cancellationToken);
        idle.Add(idleCpu);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# {cluster.Name}: started (READY and a leader) in {took.TotalSeconds:F1} s; leader {cluster.Leader.Name}; after a warm-up, idle CPU {idleCpu:F0}% of a core over {IdleSpan.TotalSeconds} s"));
    }

    private static async Task<Run> MeasureAsync(Writer writer, int clients, WindowOptions window, int rep, CancellationToken cancellationToken)
    {
        Machine.Settle();
        var leader = await writer.Cluster.FindLeaderAsync(cancellationToken);
        var latenciesBefore = await writer.Cluster.LatenciesAsync(leader, cancellationToken);
        var cpuBefore = writer.Cluster.CpuSeconds();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await writer.RunAsync(clients, window, cancellationToken);
        var serverCpu = (writer.Cluster.CpuSeconds() - cpuBefore) / System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds * 100;
        var latenciesAfter = await writer.Cluster.LatenciesAsync(leader, cancellationToken);
        double MeanMs(string histogram) =>
            latenciesBefore?.GetValueOrDefault(histogram) is { } b && latenciesAfter?.GetValueOrDefault(histogram) is { } a && a.Count > b.Count
                ? (a.SumSeconds - b.SumSeconds) / (a.Count - b.Count) * 1000
                : double.NaN;
        var commitMs = MeanMs("log_append_latency");
        var run = new Run(result, serverCpu, commitMs, MeanMs("write_decide_latency"), MeanMs("write_commit_latency"), MeanMs("write_apply_latency"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"rep={rep} case={result.Case} replicas={writer.Cluster.Size} leader={writer.Cluster.Leader.Name} writes={result.Records} elapsed_s={result.Seconds:F3} writes_per_s={result.RecordsPerSecond:F1} " +
            $"lat_us_p50={result.P50:F0} lat_us_p99={result.P99:F0} lat_us_max={result.Max:F0} failures={result.Failures} client_cpu_pct={result.Usage.CpuPercent:F0} server_cpu_pct={serverCpu:F0} server_commit_ms_mean={commitMs:F3} decide_ms_mean={run.DecideMs:F3} quorum_ms_mean={run.QuorumMs:F3} apply_ms_mean={run.ApplyMs:F3} " +
            $"client_gc={result.Usage.Gen0}/{result.Usage.Gen1}/{result.Usage.Gen2}"));
        if (writer.Failures.Take() is { } failures)
        {
            Console.Error.WriteLine($"{result.Case} rep {rep}: {failures}");
        }

        return run;
    }

    private static string Summarize(
        List<(int Rep, Run Result)> results, Dictionary<string, List<double>> idle, IReadOnlyList<PeerRun>? peers, List<SchedulerReplica> replicas, Settings settings, string directory, string loadBefore, string loadAfter, out bool allPass)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
        var reps = results.Select(r => r.Rep).Distinct().Order().ToList();
        List<Run> Runs(string name) => [.. results.Where(r => r.Result.Measurement.Case == name).Select(r => r.Result)];
        double Median(string name, Func<Measurement, double> value) => Stats.Median(Runs(name).Select(r => value(r.Measurement)));
        long Failed(string name) => Runs(name).Sum(r => r.Measurement.Failures);

        Line($"==== aurora cluster benchmark (writes): summary ====");
        Line($"machine: {Machine.Describe(directory)}");
        Line($"load average: start {loadBefore}, end {loadAfter}");
        Line($"{settings}");
        Line($"aurora-scheduler, PUT /api/quotas/ROLE (a new role per write) to the leader; HTTP/1.1 keep-alive, closed loop; medians over {reps.Count} rep(s)");
        Line($"{"case",-9} {"writes/s",9} {"min..max",15} {"p50_ms",7} {"p99_ms",7} {"max_ms",8} {"srv_ms",7} {"cli%",5} {"srv%",5} {"failed",6}");
        foreach (var n in Concurrency)
        {
            foreach (var name in new[] { $"one_{n}", $"three_{n}" })
            {
                var runs = Runs(name);
                Line($"{name,-9} {Median(name, m => m.RecordsPerSecond),9:F0} {$"{runs.Min(r => r.Measurement.RecordsPerSecond):F0}..{runs.Max(r => r.Measurement.RecordsPerSecond):F0}",15} {Median(name, m => m.P50) / 1000,7:F3} {Median(name, m => m.P99) / 1000,7:F3} {runs.Max(r => r.Measurement.Max) / 1000,8:F3} {Stats.Median(runs.Select(r => r.ServerCommitMs)),7:F3} {Median(name, m => m.Usage.CpuPercent),5:F0} {Stats.Median(runs.Select(r => r.ServerCpuPercent)),5:F0} {Failed(name),6}");
            }
        }

        Line($"  srv_ms = the leader's mean time per committed command (its /vars log_append_latency; warm-up included)");
        Line($"");
        Line($"the leader's write pipeline, stage by stage (means from its /vars over the measured run; medians over reps)");
        Line($"{"case",-9} {"srv_ms",7} {"decide",7} {"quorum",7} {"apply",7} {"rest",7}");
        foreach (var n in Concurrency)
        {
            foreach (var name in new[] { $"one_{n}", $"three_{n}" })
            {
                var runs = Runs(name);
                var (srv, decide, quorum, apply) = (Stats.Median(runs.Select(r => r.ServerCommitMs)), Stats.Median(runs.Select(r => r.DecideMs)), Stats.Median(runs.Select(r => r.QuorumMs)), Stats.Median(runs.Select(r => r.ApplyMs)));
                Line($"{name,-9} {srv,7:F3} {decide,7:F3} {quorum,7:F3} {apply,7:F3} {srv - decide - quorum - apply,7:F3}");
            }
        }

        Line($"  decide = arrival at the leader to proposal (per command); quorum = proposal to committed by a quorum and");
        Line($"  apply = committed to applied on the leader (per proposal: a proposal carries every command decided together);");
        Line($"  rest = srv_ms less the three: handing the answer back (exact at 1 client, where a proposal is one command)");
        Line($"  cli% = this process (the 1-64 clients), srv% = all replicas of the cluster (warm-up included); 100 = one core of {Environment.ProcessorCount}");
        Line($"  only the measured cluster runs; idle, with no client: {string.Join(", ", idle.Select(i => $"{i.Key} {Stats.Median(i.Value):F0}% of a core (median of {i.Value.Count} starts)"))}");

        var figures = peers?.SelectMany(p => p.Figures).ToList() ?? [];
        if (peers is null)
        {
            Line($"peers: not run (--no-peers)");
        }
        else
        {
            Line($"peers: their own scripts and load generators (not this program's HTTP client), a 1 KiB value per write; medians over REPS={settings.PeerReps} of SECS={settings.PeerSeconds}; run after the scheduler cases");
            Line($"{"system",-14} {"nodes",5} {"case",-28} {"clients",7} {"ops/s",9} {"p50_ms",7} {"p99_ms",7}  load generator");
            foreach (var f in figures.Where(f => Concurrency.Contains(f.Clients)).OrderBy(f => f.System, StringComparer.Ordinal).ThenBy(f => f.Nodes).ThenBy(f => f.Clients).ThenBy(f => f.Case, StringComparer.Ordinal))
            {
                Line($"{f.System,-14} {f.Nodes,5} {f.Case,-28} {f.Clients,7} {f.OpsPerSecond,9:F0} {f.P50Ms,7:F3} {f.P99Ms,7:F3}  {f.Generator}");
            }

            foreach (var run in peers.Where(p => p.Problem is not null))
            {
                Line($"peer {run.Script} gave no figures: {run.Problem}");
            }
        }

        Line($"goals: this run's medians; against the peers: our medians over reps / theirs (other runs and load generators, same machine)");
        var pass = true;
        void Goal(string label, double value, string format, string goal, Func<double, bool>? meets, string? missing, string detail, params string[] ours)
        {
            var failed = ours.Sum(Failed);
            var verdict = missing is not null ? (peers is null ? "skipped" : "n/a")
                : failed > 0 ? "INVALID"
                : meets is null ? "info"
                : meets(value) ? "PASS" : "MISS";
            pass &= verdict is "PASS" or "info" or "skipped";
            var shown = missing is not null ? "-" : value.ToString(format, CultureInfo.InvariantCulture);
            Line($"{label,-48} {shown,8}  goal {goal,-9} {verdict}");
            Line($"    {missing ?? detail}{(failed > 0 ? $"; {failed} writes failed: not a valid figure" : string.Empty)}");
        }

        var noPeers = peers is null ? "--no-peers" : null;

        // (a) one replica against PostgreSQL, both at 64 clients.
        var postgres = figures.Where(f => f.System.StartsWith("PostgreSQL", StringComparison.Ordinal) && f.Clients == 64 && f.ClosedLoop).MaxBy(f => f.OpsPerSecond);
        var one64 = Median("one_64", m => m.RecordsPerSecond);
        Goal(
            "(a) throughput one_64 / PostgreSQL @64",
            postgres is null ? double.NaN : one64 / postgres.OpsPerSecond,
            "F2",
            ">= 1.0",
            r => r >= 1.0,
            noPeers ?? (postgres is null ? "no PostgreSQL figure at 64 clients (see the peers above)" : null),
            postgres is null ? string.Empty : Invariant($"one_64 {one64:F0} writes/s; PostgreSQL {postgres.Case} {postgres.OpsPerSecond:F0} appends/s ({postgres.Generator}; the better of its workloads)"),
            "one_64");

        // (b) three replicas against the best three-node peer at 64 closed-loop clients.
        var best = figures.Where(f => f.Nodes == 3 && f.Clients == 64 && f.ClosedLoop).MaxBy(f => f.OpsPerSecond);
        var three64 = Median("three_64", m => m.RecordsPerSecond);
        var three64P99 = Median("three_64", m => m.P99) / 1000;
        var noBest = noPeers ?? (best is null ? "no 3-node peer figure at 64 clients (see the peers above)" : null);
        Goal(
            "(b) throughput three_64 / best 3-node peer @64",
            best is null ? double.NaN : three64 / best.OpsPerSecond,
            "F2",
            ">= 2.0",
            r => r >= 2.0,
            noBest,
            best is null ? string.Empty : Invariant($"three_64 {three64:F0} writes/s; best: {best.System} {best.Case} {best.OpsPerSecond:F0}/s ({best.Generator})"),
            "three_64");
        Goal(
            "(b) p99 three_64 / that peer's p99",
            best is null ? double.NaN : three64P99 / best.P99Ms,
            "F2",
            "<= 1.0",
            r => r <= 1.0,
            noBest,
            best is null ? string.Empty : Invariant($"three_64 p99 {three64P99:F3} ms; {best.Case} p99 {best.P99Ms:F3} ms"),
            "three_64");

        // (c) one client on three replicas.
        var three1 = Median("three_1", m => m.P50) / 1000;
        var each = string.Join(' ', Runs("three_1").Select(r => (r.Measurement.P50 / 1000).ToString("F3", CultureInfo.InvariantCulture)));
        Goal("(c) p50 three_1, ms", three1, "F3", "<= 0.5", v => v <= 0.5, null, $"three_1 p50 per rep [{each}] ms; one_1 p50 {Median("one_1", m => m.P50) / 1000:F3} ms", "three_1");

        foreach (var n in Concurrency.Reverse())
        {
            Goal(
                $"throughput three_{n} / one_{n}",
                Median($"three_{n}", m => m.RecordsPerSecond) / Median($"one_{n}", m => m.RecordsPerSecond),
                "F2",
                "-",
                null,
                null,
                Invariant($"three_{n} {Median($"three_{n}", m => m.RecordsPerSecond):F0} writes/s, one_{n} {Median($"one_{n}", m => m.RecordsPerSecond):F0} writes/s"),
                $"three_{n}",
                $"one_{n}");
        }

        foreach (var f in figures.Where(f => f.Clients == 64 && f.ClosedLoop && f != best && f != postgres).OrderByDescending(f => f.OpsPerSecond))
        {
            var ours = f.Nodes == 3 ? "three_64" : "one_64";
            Goal(
                $"throughput {ours} / {f.System.Split(' ')[0]} {f.Case}",
                Median(ours, m => m.RecordsPerSecond) / f.OpsPerSecond,
                "F2",
                "-",
                null,
                null,
                Invariant($"{f.Case} {f.OpsPerSecond:F0}/s, p99 {f.P99Ms:F3} ms ({f.Generator})"),
                ours);
        }

        var notable = replicas.Sum(r => r.NotableCount);
        var exits = replicas.SelectMany(r => r.Exits).Where(e => e.EndsWith("UNEXPECTEDLY", StringComparison.Ordinal)).ToList();
        Line($"scheduler output: {notable} warning/error lines{(notable == 0 ? string.Empty : ", the first:")}");
        foreach (var line in replicas.SelectMany(r => r.NotableLines).Take(20))
        {
            Line($"    {line}");
        }

        foreach (var exit in exits)
        {
            Line($"    {exit}");
        }

        Line($"==== end ====");
        allPass = pass && exits.Count == 0;
        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A measured run, the CPU the cluster's processes used meanwhile (100 = one core), and the leader's own view of it.</summary>
    /// <param name="ServerCommitMs">The leader's mean time per command it committed in the run, warm-up included (its <c>log_append_latency</c>).</param>
    /// <param name="DecideMs">The leader's mean write_decide_latency in the run (per command).</param>
    /// <param name="QuorumMs">The leader's mean write_commit_latency in the run (per proposal).</param>
    /// <param name="ApplyMs">The leader's mean write_apply_latency in the run (per proposal).</param>
    private sealed record Run(Measurement Measurement, double ServerCpuPercent, double ServerCommitMs, double DecideMs, double QuorumMs, double ApplyMs);

    /// <summary>The closed-loop writers of one cluster: each write goes to the leader found last.</summary>
    private sealed class Writer(SchedulerCluster cluster, HttpClient http, int maxWriters)
    {
        private readonly RoleNames _names = new(maxWriters);

        public SchedulerCluster Cluster => cluster;

        public FailureLog Failures { get; } = new();

        public Task<Measurement> RunAsync(int clients, WindowOptions window, CancellationToken cancellationToken) =>
            ClosedLoop.RunAsync($"{cluster.Name}_{clients}", clients, () => WriteAsync(cancellationToken), QuotaWrites.Body.Length, () => 0, window, cancellationToken);

        /// <summary>
        /// One write, true when the leader answered 200. Anything else (another status, a 307 from a
        /// replica that stopped leading, a connection error, a timeout) is a failed write: counted,
        /// and the leader is looked up again before the next.
        /// </summary>
        private async Task<bool> WriteAsync(CancellationToken cancellationToken)
        {
            var leader = cluster.Leader;
            string failure;
            using (var name = _names.Take())
            {
                try
                {
                    using var request = QuotaWrites.Request(leader.Url, name.Role);
                    using var response = await http.SendAsync(request, cancellationToken);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return true;
                    }

                    failure = await QuotaWrites.DescribeAsync(response, cancellationToken);
                }
                catch (HttpRequestException e)
                {
                    failure = $"{leader.Name}: {e.Message}";
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = $"{leader.Name}: no answer within {http.Timeout.TotalSeconds} s";
                }
            }

            Failures.Add(failure);
            await Task.Delay(FailureBackoff, cancellationToken);
            await cluster.FindLeaderAsync(cancellationToken);
            return false;
        }
    }

    /// <param name="PeersDirectory">Given with --peers-dir; null means ../shared/peers beside the repository dist/bin was built in.</param>
    internal sealed record Settings(WindowOptions Window, string? Bin, bool Peers, string? PeersDirectory, int PeerReps, double PeerSeconds)
    {
        public const string NoPeers = "--no-peers";

        public static Settings Parse(string[] args)
        {
            var a = new Arguments([.. args.Where(x => x != NoPeers)], [.. WindowOptions.Names, "bin", "peers-dir", "peer-reps", "peer-seconds"]);
            return new Settings(
                WindowOptions.From(a),
                a.String("bin"),
                !args.Contains(NoPeers),
                a.String("peers-dir") is { } peers ? Path.GetFullPath(peers) : null,
                (int)a.Long("peer-reps", 1, 1),
                a.Double("peer-seconds", 5, 1));
        }

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"settings: {Window} clients={string.Join('/', Concurrency)} body={QuotaWrites.Body.Length} B; peers: {(Peers ? $"{PeersDirectory} REPS={PeerReps} SECS={PeerSeconds}" : "no")}");
    }
}
