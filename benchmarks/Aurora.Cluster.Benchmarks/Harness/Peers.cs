using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Aurora.Cluster.Benchmarks.Harness;

/// <summary>One figure a peer's script measured: a case of its summary (medians over its reps).</summary>
/// <param name="System">etcd, ZooKeeper or PostgreSQL, with the version the script installs.</param>
/// <param name="Nodes">Members of the cluster measured (1 or 3).</param>
/// <param name="Case">The script's own case name, as in its summary.</param>
/// <param name="Clients">Writes in flight.</param>
/// <param name="ClosedLoop">Each in-flight write is a client of its own that waits for its answer (false: pipelined on one session).</param>
/// <param name="Generator">The load generator and how the clients connect.</param>
internal sealed record PeerFigure(string System, int Nodes, string Case, int Clients, bool ClosedLoop, string Generator, double OpsPerSecond, double P50Ms, double P99Ms, int Runs);

/// <summary>What one script gave: its figures, or why it gave none.</summary>
internal sealed record PeerRun(string Script, string? Problem, IReadOnlyList<PeerFigure> Figures, IReadOnlyList<string> SummaryLines, TimeSpan Took);

/// <summary>
/// The peers measured by their own scripts (<c>../shared/peers</c> beside the repository): <c>02_etcd.sh</c> (1 and 3
/// members), <c>03_zookeeper.sh</c> (standalone and a 3-server ensemble), <c>04_postgres.sh</c>, each
/// with its own load generator (Node, Java, pgbench) and a 1 KiB value, run with small
/// <c>REPS</c>/<c>SECS</c> and their summaries parsed. The scripts install their Debian packages
/// when missing. A script that fails is reported with its last lines, and the others still run.
/// </summary>
internal static partial class Peers
{
    private static readonly TimeSpan ScriptPatience = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan StopPatience = TimeSpan.FromSeconds(90);

    private static readonly (string Script, string Summary)[] Scripts =
    [
        ("02_etcd.sh", "etcd_summary.txt"),
        ("03_zookeeper.sh", "zk_summary.txt"),
        ("04_postgres.sh", "pg_summary.txt"),
    ];

    /// <summary>Runs every script in turn (never two loads at once) with results going to <paramref name="resultsDirectory"/>.</summary>
    public static async Task<IReadOnlyList<PeerRun>> RunAsync(string peersDirectory, int reps, double seconds, string resultsDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(resultsDirectory);
        var runs = new List<PeerRun>();
        foreach (var (script, summary) in Scripts)
        {
            Machine.Settle();
            runs.Add(await RunScriptAsync(peersDirectory, script, summary, reps, seconds, resultsDirectory, cancellationToken));
        }

        return runs;
    }

    private static async Task<PeerRun> RunScriptAsync(string peersDirectory, string script, string summaryFile, int reps, double seconds, string resultsDirectory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(peersDirectory, script);
        var started = Stopwatch.GetTimestamp();
        if (!File.Exists(path))
        {
            return new PeerRun(script, $"{path} does not exist", [], [], TimeSpan.Zero);
        }

        var secs = Math.Max(1, (int)Math.Round(seconds)).ToString(CultureInfo.InvariantCulture);
        var knobs = $"REPS={reps} SECS={secs} CHECKPERF=0 RESULTS_DIR={resultsDirectory}";
        Console.WriteLine($"# peer: {knobs} bash {path} (PEERS_DIR={Environment.GetEnvironmentVariable("PEERS_DIR") ?? "/tmp/peers, the scripts' default"}; installs its Debian packages when missing)");
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = resultsDirectory,
        };
        start.ArgumentList.Add(path);
        start.Environment["REPS"] = reps.ToString(CultureInfo.InvariantCulture);
        start.Environment["SECS"] = secs;
        start.Environment["CHECKPERF"] = "0";
        start.Environment["RESULTS_DIR"] = resultsDirectory;

        var tail = new Queue<string>();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > 25)
                {
                    tail.Dequeue();
                }
            }

            // The scripts' result lines, as they come (the rest, installs and cluster status, only on failure).
            if (line.Contains("case=", StringComparison.Ordinal) && !line.StartsWith("case=", StringComparison.Ordinal))
            {
                Console.WriteLine($"  {script}| {line}");
            }
        }

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        if (!process.Start())
        {
            return new PeerRun(script, "bash could not be started", [], [], TimeSpan.Zero);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string? problem = null;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(ScriptPatience);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM: the script's EXIT trap stops the cluster it started once its current load ends.
                Posix.Signal(process.Id, Posix.SigTerm);
                using var stop = new CancellationTokenSource(StopPatience);
                try
                {
                    await process.WaitForExitAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    Posix.Signal(process.Id, Posix.SigKill);
                    Console.Error.WriteLine($"warning: {script} did not stop within {StopPatience.TotalSeconds} s of SIGTERM and was killed; its servers may still run (see etcd_ctl.sh/zk_ctl.sh stop, pg_ctl stop)");
                }

                cancellationToken.ThrowIfCancellationRequested();
                problem = $"did not finish within {ScriptPatience.TotalMinutes} min";
            }
        }

        var took = Stopwatch.GetElapsedTime(started);
        var summaryPath = Path.Combine(resultsDirectory, summaryFile);
        if (problem is null && process.ExitCode != 0)
        {
            problem = $"exited with code {process.ExitCode}";
        }

        if (problem is null && !File.Exists(summaryPath))
        {
            problem = $"wrote no {summaryFile}";
        }

        if (problem is not null)
        {
            string lines;
            lock (tail)
            {
                lines = string.Join('\n', tail.Select(l => $"    {script}| {l}"));
            }

            return new PeerRun(script, $"{problem}; its last lines:\n{lines}", [], [], took);
        }

        var summary = await File.ReadAllLinesAsync(summaryPath, cancellationToken);
        var figures = summary.Select(Parse).OfType<PeerFigure>().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# peer: {script} done in {took.TotalSeconds:F0} s, {figures.Count} cases"));
        return new PeerRun(script, figures.Count == 0 ? $"no case of {summaryFile} was understood" : null, figures, summary, took);
    }

    /// <summary>
    /// A line of a script's summary (stats.py): <c>case=NAME | n=RUNS | KEY: median=V min=V max=V | ...</c>;
    /// null for a case that is not a write load.
    /// </summary>
    internal static PeerFigure? Parse(string line)
    {
        var fields = line.Split(" | ");
        if (fields.Length < 3 || !fields[0].StartsWith("case=", StringComparison.Ordinal) || !fields[1].StartsWith("n=", StringComparison.Ordinal))
        {
            return null;
        }

        var name = fields[0]["case=".Length..];
        var runs = int.Parse(fields[1]["n=".Length..], CultureInfo.InvariantCulture);
        var medians = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var field in fields.Skip(2))
        {
            if (MedianField().Match(field) is { Success: true } m)
            {
                medians[m.Groups["key"].Value] = double.Parse(m.Groups["median"].Value, CultureInfo.InvariantCulture);
            }
        }

        double Get(string key) => medians.TryGetValue(key, out var v) ? v : double.NaN;
        if (EtcdCase().Match(name) is { Success: true } etcd)
        {
            var clients = Clients(etcd);
            var all3 = etcd.Groups["target"].Value == "all3";
            var connections = clients == 1 ? 1 : all3 ? 15 : 16;
            var transport = etcd.Groups["transport"].Value == "grpc" ? "gRPC (npm etcd3)" : "v3 JSON gateway (HTTP)";
            return new PeerFigure(
                "etcd 3.4",
                etcd.Groups["mode"].Value == "cluster" ? 3 : 1,
                name,
                clients,
                ClosedLoop: true,
                $"Node etcd_load.js, {transport}, {connections} connection(s), {(all3 ? "spread over all 3" : "to the leader")}",
                Get("writes_per_s"),
                Get("lat_ms_p50"),
                Get("lat_ms_p99"),
                runs);
        }

        if (ZooKeeperCase().Match(name) is { Success: true } zk)
        {
            var sync = zk.Groups["kind"].Value == "sync";
            var window = int.Parse(zk.Groups["window"].Value, CultureInfo.InvariantCulture);
            var clients = sync ? Clients(zk) : window;
            var target = zk.Groups["target"].Value == "all3" ? "sessions spread over all 3" : "to the leader";
            return new PeerFigure(
                "ZooKeeper 3.8",
                zk.Groups["mode"].Value == "ensemble" ? 3 : 1,
                name,
                clients,
                ClosedLoop: sync,
                sync ? $"Java ZkBench, sequential creates, 1 session per client, {target}" : $"Java ZkBench, async creates, 1 session, {window} pipelined, {target}",
                Get("creates_per_s"),
                Get("lat_ms_p50"),
                Get("lat_ms_p99"),
                runs);
        }

        if (PostgresCase().Match(name) is { Success: true } pg)
        {
            var own = pg.Groups["workload"].Value == "own";
            return new PeerFigure(
                "PostgreSQL 15",
                1,
                name,
                Clients(pg),
                ClosedLoop: true,
                $"pgbench -M prepared, 1 INSERT per transaction, synchronous_commit=on, {(own ? "a stream per client" : "one shared stream")}",
                Get("appends_per_s"),
                Get("lat_ms_p50"),
                Get("lat_ms_p99"),
                runs);
        }

        return null;
    }

    private static int Clients(Match match) => int.Parse(match.Groups["clients"].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<key>\w+): median=(?<median>[-0-9.eE+]+)")]
    private static partial Regex MedianField();

    [GeneratedRegex(@"^(?<mode>single|cluster)_(?<transport>http|grpc)_c(?<clients>\d+)_(?<target>leader|all3)$")]
    private static partial Regex EtcdCase();

    [GeneratedRegex(@"^(?<mode>single|ensemble)_(?<kind>sync|async)_c(?<clients>\d+)_w(?<window>\d+)_(?<target>leader|all3)$")]
    private static partial Regex ZooKeeperCase();

    [GeneratedRegex(@"^pg_(?<workload>own|global)_c(?<clients>\d+)$")]
    private static partial Regex PostgresCase();
}
