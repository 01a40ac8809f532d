using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Aurora.Cluster.Benchmarks.Harness;

/// <summary>
/// <c>failover</c>: three <c>aurora-scheduler</c> replicas with the default timings and a closed loop
/// of clients writing quotas, each to any replica (following the 307 of a follower to the leader,
/// moving to the next replica after an error). A trial SIGKILLs the leader and measures the time
/// from the kill to the first write acknowledged (200) by another replica, i.e. the new leader; then
/// the killed replica is restarted with the same flags and the next trial waits until it is READY,
/// caught up, and the cluster has a leader again.
/// </summary>
internal static class FailoverHarness
{
    private const double GoalSeconds = 1.5;

    /// <summary>A follower is caught up when the leader sees it this many entries behind or fewer.</summary>
    private const long CaughtUpLag = 100;

    /// <summary>Writes acknowledged after a restart before the next kill: the load is flowing again.</summary>
    private const int AcksBeforeKill = 20;

    private static readonly TimeSpan FirstWritePatience = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(Settings settings)
    {
        var bin = DistBin.Find(settings.Bin);
        using var scratch = new ScratchDirectory(settings.Directory);
        var interrupted = scratch.Interrupted;
        var loadBefore = Machine.Announce(scratch.Path, settings.ToString());
        Console.WriteLine($"# scheduler: {Path.Combine(bin, DistBin.Scheduler)}");
        if (DistBin.StalenessWarning(bin) is { } stale)
        {
            Console.WriteLine($"# {stale}");
        }

        var trials = new List<Trial>();
        string durability;
        string redirect;
        Counters totals;
        string? otherStatuses;
        IReadOnlyList<SchedulerReplica> replicas;
        using (var http = QuotaWrites.Client(4 * settings.Clients, followRedirects: true, TimeSpan.FromSeconds(5)))
        using (var probe = QuotaWrites.Client(8, followRedirects: false, TimeSpan.FromSeconds(2)))
        {
            await using var cluster = await SchedulerCluster.StartAsync("three", 3, bin, scratch.Path, probe, interrupted);
            replicas = cluster.Replicas;
            foreach (var replica in cluster.Replicas)
            {
                Console.WriteLine($"# {replica.Name}: {replica.CommandLine}");
            }

            redirect = await CheckRedirectAsync(cluster, http, probe, interrupted);
            Console.WriteLine($"# redirect check: {redirect}");

            var load = new Load(cluster, http, settings.Clients);
            try
            {
                for (var number = 1; number <= settings.Trials; number++)
                {
                    trials.Add(await RunTrialAsync(number, cluster, load, interrupted));
                }
            }
            finally
            {
                await load.StopAsync();
            }

            totals = load.Totals;
            otherStatuses = string.Join("; ", new[] { load.SelfRedirects.Take() is { } self ? $"307 to itself: {self}" : null, load.OtherStatuses.Take() }.OfType<string>());
            durability = await CheckDurabilityAsync(cluster, load.Acknowledged(), interrupted);
            Console.WriteLine($"# durability: {durability}");
        }

        var summary = Summarize(trials, totals, otherStatuses, redirect, durability, replicas, settings, scratch.Path, loadBefore, Machine.LoadAverage(), out var pass);
        Console.WriteLine();
        Console.Write(summary);
        return pass ? 0 : 1;
    }

    private static async Task<Trial> RunTrialAsync(int number, SchedulerCluster cluster, Load load, CancellationToken cancellationToken)
    {
        // Before the kill: a leader, both followers caught up, and writes flowing.
        var lags = await WaitCaughtUpAsync(cluster, cancellationToken);
        var leader = cluster.Leader;
        await load.WaitForAcknowledgementsAsync(AcksBeforeKill, cancellationToken);

        var before = load.Totals;
        var armed = load.Arm(leader.Url.Authority);
        var killedAt = armed.Kill(leader);
        string? newLeader = null;
        double? failoverMs = null;
        try
        {
            var (at, responder) = await armed.FirstAcknowledgement.WaitAsync(FirstWritePatience, cancellationToken);
            failoverMs = (at - killedAt) * 1000.0 / Stopwatch.Frequency;
            newLeader = cluster.Replicas.FirstOrDefault(r => r.Url.Authority == responder)?.Name ?? responder;
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"trial {number}: no write was acknowledged by another replica within {FirstWritePatience.TotalSeconds} s of killing {leader.Name}; {cluster.Describe()}\n{string.Join('\n', cluster.Replicas.Select(r => r.Tail()))}");
        }
        finally
        {
            load.Disarm();
        }

        var during = load.Totals - before;
        var selfRedirecting = string.Join('+', armed.SelfRedirecting.Select(a => cluster.Replicas.FirstOrDefault(r => r.Url.Authority == a)?.Name ?? a).Order(StringComparer.Ordinal));

        // The killed replica comes back with the same flags, directory and ports.
        await leader.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var restarted = Stopwatch.GetTimestamp();
        await leader.StartAsync(SchedulerCluster.Patience, cancellationToken);
        var readyMs = Stopwatch.GetElapsedTime(restarted).TotalMilliseconds;
        var successor = await cluster.FindLeaderAsync(cancellationToken);

        var trial = new Trial(number, leader.Name, newLeader, failoverMs, readyMs, during, lags, selfRedirecting);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"trial={number} killed={leader.Name} new_leader={newLeader ?? "none"} failover_ms={(failoverMs is { } ms ? ms.ToString("F1", CultureInfo.InvariantCulture) : "none")} " +
            $"restart_to_ready_ms={readyMs:F0} leader_after_restart={successor.Name} lag_before_kill={string.Join('/', lags)} " +
            $"until_first_ack: {during}{(selfRedirecting.Length > 0 ? $" 307_to_itself_from={selfRedirecting}" : string.Empty)}"));
        return trial;
    }

    /// <summary>Waits until the leader sees both followers within <see cref="CaughtUpLag"/> entries; returns their lags.</summary>
    private static async Task<long[]> WaitCaughtUpAsync(SchedulerCluster cluster, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(SchedulerCluster.Patience.TotalSeconds * Stopwatch.Frequency);
        long[]? lags = null;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var leader = await cluster.FindLeaderAsync(cancellationToken);
            lags = await cluster.FollowerLagsAsync(leader, cancellationToken);
            if (lags is { Length: > 0 } && lags.All(l => l <= CaughtUpLag))
            {
                return lags;
            }

            await Task.Delay(20, cancellationToken);
        }

        Console.Error.WriteLine($"warning: the followers did not come within {CaughtUpLag} entries of the leader in {SchedulerCluster.Patience.TotalSeconds} s (lags {(lags is null ? "unknown" : string.Join('/', lags))}); killing the leader anyway");
        return lags ?? [];
    }

    /// <summary>
    /// A PUT to a follower without following: 307 to the leader; the same PUT followed by the
    /// client: 200 from the leader, i.e. method and body kept; and the quota is there.
    /// </summary>
    private static async Task<string> CheckRedirectAsync(SchedulerCluster cluster, HttpClient http, HttpClient probe, CancellationToken cancellationToken)
    {
        var leader = await cluster.FindLeaderAsync(cancellationToken);
        var follower = cluster.Replicas.First(r => r != leader);
        using (var request = QuotaWrites.Request(follower.Url, "redirect-check"))
        using (var response = await probe.SendAsync(request, cancellationToken))
        {
            if (response.StatusCode != HttpStatusCode.TemporaryRedirect || response.Headers.Location?.Authority != leader.Url.Authority)
            {
                throw new InvalidOperationException($"a PUT to follower {follower.Name} was answered {await QuotaWrites.DescribeAsync(response, cancellationToken)} (Location {response.Headers.Location}), not a 307 to the leader {leader.Url}");
            }
        }

        using (var request = QuotaWrites.Request(follower.Url, "redirect-check"))
        using (var response = await http.SendAsync(request, cancellationToken))
        {
            if (response.StatusCode != HttpStatusCode.OK || response.RequestMessage?.RequestUri?.Authority != leader.Url.Authority)
            {
                throw new InvalidOperationException($"a PUT to follower {follower.Name}, redirects followed, ended {await QuotaWrites.DescribeAsync(response, cancellationToken)}: the client did not resend the PUT and its body to the leader");
            }
        }

        var quota = JsonNode.Parse(await probe.GetStringAsync(new Uri(leader.Url, "quotas?role=redirect-check"), cancellationToken))!["redirect-check"];
        if (quota?["ram_mb"]?.GetValue<long>() != 1024)
        {
            throw new InvalidOperationException($"after the redirected PUT the leader's quota of redirect-check is {quota?.ToJsonString() ?? "missing"}");
        }

        return $"PUT to follower {follower.Name}: 307 to {leader.Name}; followed by HttpClient: 200 from {leader.Name} (method and body resent); leader's /quotas: {quota.ToJsonString()}";
    }

    /// <summary>Every write acknowledged during the run is in the final leader's state.</summary>
    private static async Task<string> CheckDurabilityAsync(SchedulerCluster cluster, IReadOnlyCollection<string> acknowledged, CancellationToken cancellationToken)
    {
        var leader = await cluster.FindLeaderAsync(cancellationToken);
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var quotas = JsonNode.Parse(await client.GetStringAsync(new Uri(leader.Url, "quotas"), cancellationToken))!.AsObject();
        var missing = acknowledged.Where(role => !quotas.ContainsKey(role)).ToList();
        return missing.Count == 0
            ? Invariant($"all {acknowledged.Count} acknowledged writes are in the final leader's ({leader.Name}) /quotas ({quotas.Count} roles)")
            : Invariant($"{missing.Count} of {acknowledged.Count} acknowledged writes are MISSING from the final leader's ({leader.Name}) /quotas, e.g. {string.Join(", ", missing.Take(5))}");
    }

    private static string Summarize(
        List<Trial> trials, Counters totals, string? otherStatuses, string redirect, string durability, IReadOnlyList<SchedulerReplica> replicas, Settings settings, string directory, string loadBefore, string loadAfter, out bool pass)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
        var measured = trials.Where(t => t.FailoverMs is not null).Select(t => t.FailoverMs!.Value).Order().ToArray();
        var ready = trials.Select(t => t.RestartToReadyMs).Order().ToArray();
        var none = trials.Count - measured.Length;

        Line($"==== aurora cluster benchmark (failover): summary ====");
        Line($"machine: {Machine.Describe(directory)}");
        Line($"load average: start {loadBefore}, end {loadAfter}");
        Line($"{settings}");
        Line($"redirects: {redirect}");
        Line($"{"trial",5} {"killed",-9} {"new leader",-10} {"failover_ms",11} {"restart_ms",10}  until the first acknowledgement");
        foreach (var t in trials)
        {
            Line($"{t.Number,5} {t.Killed,-9} {t.NewLeader ?? "none",-10} {(t.FailoverMs is { } ms ? ms.ToString("F1", CultureInfo.InvariantCulture) : "none"),11} {t.RestartToReadyMs,10:F0}  {t.During}{(t.SelfRedirecting.Length > 0 ? $" (307 to itself from {t.SelfRedirecting})" : string.Empty)}");
        }

        Line($"{"",5} {"",-9} {"",-10} {"median",11} {"p90",10} {"max",8} {"min",8}");
        Line($"{"failover (SIGKILL -> first write acknowledged by the new leader), ms",-52} {Pct(measured, 0.5),8:F1} {Pct(measured, 0.9),10:F1} {Max(measured),8:F1} {Min(measured),8:F1}");
        Line($"{"restart of the killed replica -> READY, ms",-52} {Pct(ready, 0.5),8:F0} {Pct(ready, 0.9),10:F0} {Max(ready),8:F0} {Min(ready),8:F0}");
        Line($"writes over the run: {totals}");
        if (otherStatuses is { Length: > 0 })
        {
            Line($"    {otherStatuses}");
        }

        Line($"durability: {durability}");

        var median = measured.Length == 0 ? double.NaN : Stats.Median(measured) / 1000;
        var lost = !durability.StartsWith("all ", StringComparison.Ordinal);
        var verdict = none > 0 || lost ? "INVALID" : median < GoalSeconds ? "PASS" : "MISS";
        Line($"goal: median failover < {GoalSeconds} s: {median:F3} s over {measured.Length} of {trials.Count} trials  {verdict}");
        if (none > 0)
        {
            Line($"    {none} trial(s) had no write acknowledged by a new leader within {FirstWritePatience.TotalSeconds} s");
        }

        var notable = replicas.Sum(r => r.NotableCount);
        Line($"scheduler output: {notable} warning/error lines{(notable == 0 ? string.Empty : ", the first:")}");
        foreach (var line in replicas.SelectMany(r => r.NotableLines).Take(30))
        {
            Line($"    {line}");
        }

        var unexpected = replicas.SelectMany(r => r.Exits).Where(e => e.EndsWith("UNEXPECTEDLY", StringComparison.Ordinal)).ToList();
        foreach (var exit in unexpected)
        {
            Line($"    {exit}");
        }

        Line($"==== end ====");
        pass = verdict == "PASS" && unexpected.Count == 0;
        return text.ToString();
    }

    private static double Pct(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : q == 0.5 ? Stats.Median(sorted) : Stats.Percentile(sorted, q);

    private static double Max(double[] sorted) => sorted.Length == 0 ? double.NaN : sorted[^1];

    private static double Min(double[] sorted) => sorted.Length == 0 ? double.NaN : sorted[0];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Trial(int Number, string Killed, string? NewLeader, double? FailoverMs, double RestartToReadyMs, Counters During, long[] LagsBeforeKill, string SelfRedirecting);

    /// <summary>Write attempts by outcome.</summary>
    private readonly record struct Counters(long Acknowledged, long Redirected, long ConnectionErrors, long Unavailable, long SelfRedirects, long OtherStatus, long Timeouts)
    {
        public static Counters operator -(Counters a, Counters b) => new(
            a.Acknowledged - b.Acknowledged,
            a.Redirected - b.Redirected,
            a.ConnectionErrors - b.ConnectionErrors,
            a.Unavailable - b.Unavailable,
            a.SelfRedirects - b.SelfRedirects,
            a.OtherStatus - b.OtherStatus,
            a.Timeouts - b.Timeouts);

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"acked={Acknowledged} (via 307 {Redirected}) failed: conn_errors={ConnectionErrors} 503={Unavailable} 307_to_itself={SelfRedirects} other_status={OtherStatus} timeouts={Timeouts}");
    }

    /// <summary>The kill of one trial and the first acknowledgement by another replica after it.</summary>
    private sealed class Armed(string killedAuthority)
    {
        private readonly TaskCompletionSource<(long At, string Responder)> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _selfRedirecting = new(StringComparer.Ordinal);
        private long _killedAt = long.MaxValue;

        public Task<(long At, string Responder)> FirstAcknowledgement => _first.Task;

        /// <summary>The replicas that answered a 307 to themselves while the trial was armed.</summary>
        public IReadOnlyCollection<string> SelfRedirecting => [.. _selfRedirecting.Keys];

        public void SelfRedirected(string authority) => _selfRedirecting.TryAdd(authority, 0);

        /// <summary>Takes the time and sends SIGKILL to the leader; returns the time.</summary>
        public long Kill(SchedulerReplica leader)
        {
            var now = Stopwatch.GetTimestamp();
            Volatile.Write(ref _killedAt, now);
            leader.Kill();
            return now;
        }

        /// <summary>An acknowledgement received at <paramref name="at"/> from <paramref name="responder"/> (the authority that answered 200).</summary>
        public void Acknowledged(long at, string responder)
        {
            if (at > Volatile.Read(ref _killedAt) && responder != killedAuthority)
            {
                _first.TrySetResult((at, responder));
            }
        }
    }

    /// <summary>
    /// The clients: each writes one quota at a time (<c>w{client}-{i}</c>) to a replica, stays with
    /// it while it answers 200 (directly or through the 307 a follower answers with), and after any
    /// other outcome waits 10 ms and sends the same write to the next replica.
    /// </summary>
    private sealed class Load
    {
        private static readonly TimeSpan RetryBackoff = TimeSpan.FromMilliseconds(10);

        private readonly SchedulerCluster _cluster;
        private readonly HttpClient _http;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<string>[] _acknowledged;
        private readonly Task[] _clients;
        private Armed? _armed;
        private long _acks;
        private long _redirected;
        private long _connectionErrors;
        private long _unavailable;
        private long _selfRedirects;
        private long _otherStatus;
        private long _timeouts;

        public Load(SchedulerCluster cluster, HttpClient http, int clients)
        {
            _cluster = cluster;
            _http = http;
            _acknowledged = [.. Enumerable.Range(0, clients).Select(_ => new List<string>())];
            _clients = [.. Enumerable.Range(0, clients).Select(c => Task.Run(() => WriteAsync(c)))];
        }

        /// <summary>Answers other than 200, 503 and a 307 to the replica itself, the first few.</summary>
        public FailureLog OtherStatuses { get; } = new();

        /// <summary>307s whose Location is the replica that answered (after the client's last redirect), the first few.</summary>
        public FailureLog SelfRedirects { get; } = new();

        public Counters Totals => new(
            Interlocked.Read(ref _acks),
            Interlocked.Read(ref _redirected),
            Interlocked.Read(ref _connectionErrors),
            Interlocked.Read(ref _unavailable),
            Interlocked.Read(ref _selfRedirects),
            Interlocked.Read(ref _otherStatus),
            Interlocked.Read(ref _timeouts));

        public Armed Arm(string killedAuthority)
        {
            var armed = new Armed(killedAuthority);
            Volatile.Write(ref _armed, armed);
            return armed;
        }

        public void Disarm() => Volatile.Write(ref _armed, null);

        public async Task WaitForAcknowledgementsAsync(int count, CancellationToken cancellationToken)
        {
            var target = Interlocked.Read(ref _acks) + count;
            var deadline = Stopwatch.GetTimestamp() + (long)(SchedulerCluster.Patience.TotalSeconds * Stopwatch.Frequency);
            while (Interlocked.Read(ref _acks) < target)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"fewer than {count} writes acknowledged in {SchedulerCluster.Patience.TotalSeconds} s ({Totals}); {_cluster.Describe()}");
                }

                await Task.Delay(5, cancellationToken);
            }
        }

        /// <summary>The roles of every acknowledged write; once stopped.</summary>
        public IReadOnlyCollection<string> Acknowledged() => [.. _acknowledged.SelectMany(a => a)];

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_clients);
            _stop.Dispose();
        }

        private async Task WriteAsync(int client)
        {
            var replicas = _cluster.Replicas;
            var target = client % replicas.Count;
            var next = 0;
            string? role = null;
            var stop = _stop.Token;
            while (!stop.IsCancellationRequested)
            {
                // Not cancelled in flight: a write the harness abandoned would show in the scheduler's log as a failed request.
                role ??= string.Create(CultureInfo.InvariantCulture, $"w{client}-{next++}");
                var replica = replicas[target % replicas.Count];
                try
                {
                    using var request = QuotaWrites.Request(replica.Url, role);
                    using var response = await _http.SendAsync(request, CancellationToken.None);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        var at = Stopwatch.GetTimestamp();
                        var responder = response.RequestMessage?.RequestUri?.Authority ?? replica.Url.Authority;
                        _acknowledged[client].Add(role);
                        Interlocked.Increment(ref _acks);
                        if (responder != replica.Url.Authority)
                        {
                            Interlocked.Increment(ref _redirected);
                        }

                        Volatile.Read(ref _armed)?.Acknowledged(at, responder);
                        role = null;
                        continue;
                    }

                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref _unavailable);
                    }
                    else if (response.StatusCode == HttpStatusCode.TemporaryRedirect && response.Headers.Location?.Authority == response.RequestMessage?.RequestUri?.Authority)
                    {
                        // A replica that sends the client to itself: the redirects run out on it.
                        Interlocked.Increment(ref _selfRedirects);
                        Volatile.Read(ref _armed)?.SelfRedirected(response.RequestMessage!.RequestUri!.Authority);
                        SelfRedirects.Add(await QuotaWrites.DescribeAsync(response, CancellationToken.None));
                    }
                    else
                    {
                        Interlocked.Increment(ref _otherStatus);
                        OtherStatuses.Add(await QuotaWrites.DescribeAsync(response, CancellationToken.None));
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref _connectionErrors);
                }
                catch (TaskCanceledException)
                {
                    Interlocked.Increment(ref _timeouts);
                }

                target++;
                try
                {
                    await Task.Delay(RetryBackoff, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    internal sealed record Settings(int Trials, int Clients, string? Bin, string? Directory)
    {
        public static Settings Parse(string[] args)
        {
            var a = new Arguments(args, "trials", "clients", "bin", "dir");
            return new Settings((int)a.Long("trials", 20, 1), (int)a.Long("clients", 4, 1), a.String("bin"), a.String("dir"));
        }

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"settings: trials={Trials} clients={Clients} (each to any replica, following 307s, the next replica after an error); 3 replicas, default timings (heartbeat 50 ms, lease 250 ms, elections after 300-600 ms)");
    }
}
