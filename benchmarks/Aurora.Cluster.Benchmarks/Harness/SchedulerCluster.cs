using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Aurora.Cluster.Benchmarks.Harness;

/// <summary>
/// N <c>aurora-scheduler</c> processes on 127.0.0.1, as docs/operations.md starts them: each
/// replica's log initialized once with <c>aurora-log initialize</c>, a directory and ports of its
/// own, and for more than one replica the same <c>-native_log_replicas</c> list and a shared
/// 32-byte secret. The leader is found by <c>GET /leaderhealth</c> (200 on the leader only).
/// </summary>
internal sealed class SchedulerCluster : IAsyncDisposable
{
    public const string ClusterName = "bench";

    /// <summary>How long a replica may take to print READY, and the cluster to elect a leader.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly SchedulerReplica[] _replicas;
    private readonly HttpClient _probe;
    private SchedulerReplica? _leader;

    private SchedulerCluster(string name, SchedulerReplica[] replicas, HttpClient probe)
    {
        Name = name;
        _replicas = replicas;
        _probe = probe;
    }

    public string Name { get; }

    public int Size => _replicas.Length;

    public IReadOnlyList<SchedulerReplica> Replicas => _replicas;

    /// <summary>The leader found last (see <see cref="FindLeaderAsync"/>).</summary>
    public SchedulerReplica Leader => Volatile.Read(ref _leader) ?? throw new InvalidOperationException($"{Name}: no leader was found yet");

    /// <summary>Initializes the logs of <paramref name="size"/> replicas under <paramref name="parent"/>/NAME; starts nothing (see <see cref="StartAsync(CancellationToken)"/>).</summary>
    /// <param name="probe">For <c>/leaderhealth</c>, <c>/api/scheduler</c> and <c>/vars</c>: no redirects, a short timeout.</param>
    public static async Task<SchedulerCluster> CreateAsync(string name, int size, string bin, string parent, HttpClient probe, CancellationToken cancellationToken)
    {
        var root = Path.Combine(parent, name);
        Directory.CreateDirectory(root);
        var ports = LoopbackPorts.Free(2 * size);
        var shared = new List<string>();
        if (size > 1)
        {
            var secret = Path.Combine(root, "replication.secret");
            await File.WriteAllBytesAsync(secret, RandomNumberGenerator.GetBytes(32), cancellationToken);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            shared.Add($"-native_log_replicas={string.Join(',', Enumerable.Range(0, size).Select(i => Invariant($"127.0.0.1:{ports[size + i]}")))}");
            shared.Add($"-replication_secret_file={secret}");
        }

        var replicas = new SchedulerReplica[size];
        for (var i = 0; i < size; i++)
        {
            var directory = Path.Combine(root, Invariant($"r{i}"));
            Directory.CreateDirectory(directory);
            var log = Path.Combine(directory, "log");
            await InitializeLogAsync(bin, log, cancellationToken);
            var flags = new List<string>
            {
                $"-cluster_name={ClusterName}",
                "-ip=127.0.0.1",
                Invariant($"-http_port={ports[i]}"),
                $"-native_log_file_path={log}",
                $"-backup_dir={Path.Combine(directory, "backups")}",
            };
            if (size > 1)
            {
                flags.AddRange(shared);
                flags.Add(Invariant($"-replication_port={ports[size + i]}"));
            }

            replicas[i] = new SchedulerReplica(Invariant($"{name}/r{i}"), Path.Combine(bin, DistBin.Scheduler), ports[i], size > 1 ? ports[size + i] : 0, directory, flags);
        }

        return new SchedulerCluster(name, replicas, probe);
    }

    /// <summary>Initializes and starts a cluster (<see cref="CreateAsync"/>, <see cref="StartAsync(CancellationToken)"/>).</summary>
    public static async Task<SchedulerCluster> StartAsync(string name, int size, string bin, string parent, HttpClient probe, CancellationToken cancellationToken)
    {
        var cluster = await CreateAsync(name, size, bin, parent, probe, cancellationToken);
        try
        {
            await cluster.StartAsync(cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Any replica's process is running.</summary>
    public bool Running => _replicas.Any(r => r.Running);

    /// <summary>Starts every replica that is not running (all at once: READY does not wait for a quorum, a leader needs one) and waits for a leader.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(_replicas.Where(r => !r.Running).Select(r => r.StartAsync(Patience, cancellationToken)));
        await FindLeaderAsync(cancellationToken);
    }

    /// <summary>SIGTERM to every replica (SIGKILL after a timeout); the logs stay for the next start.</summary>
    public async Task StopAsync()
    {
        await Task.WhenAll(_replicas.Select(r => r.StopAsync()));
        Volatile.Write(ref _leader, null);
    }

    /// <summary>The CPU the replicas use over <paramref name="span"/> with no client, in percent of one core.</summary>
    public async Task<double> IdleCpuPercentAsync(TimeSpan span, CancellationToken cancellationToken)
    {
        var before = CpuSeconds();
        var started = Stopwatch.GetTimestamp();
        await Task.Delay(span, cancellationToken);
        return (CpuSeconds() - before) / Stopwatch.GetElapsedTime(started).TotalSeconds * 100;
    }

    /// <summary>Polls <c>GET /leaderhealth</c> on every running replica until one answers 200.</summary>
    public async Task<SchedulerReplica> FindLeaderAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Patience.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var replica in _replicas.Where(r => r.Running))
            {
                if (await StatusAsync(replica, "leaderhealth", cancellationToken) == HttpStatusCode.OK)
                {
                    Volatile.Write(ref _leader, replica);
                    return replica;
                }
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{Name}: no replica answered /leaderhealth with 200 within {Patience.TotalSeconds} s; {Describe()}\n{string.Join('\n', _replicas.Select(r => r.Tail()))}");
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    /// <summary>
    /// The leader's view of its followers (<c>GET /api/scheduler</c>): how many entries each is
    /// behind (<c>lag</c>), or null when the leader did not answer or does not lead any more.
    /// </summary>
    public async Task<long[]?> FollowerLagsAsync(SchedulerReplica leader, CancellationToken cancellationToken)
    {
        try
        {
            var status = JsonNode.Parse(await _probe.GetStringAsync(new Uri(leader.Url, "api/scheduler"), cancellationToken))!;
            if (status["leading"]?.GetValue<bool>() != true)
            {
                return null;
            }

            return [.. status["replicas"]!.AsArray().Where(r => r!["self"]!.GetValue<bool>() == false).Select(r => r!["lag"]?.GetValue<long>() ?? long.MaxValue)];
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// The replica's own latency histograms by name (<c>/vars</c>: each <c>NAME_count</c> and
    /// <c>NAME_sum_seconds</c>: <c>log_append_latency</c> per command decided, committed on a quorum
    /// and applied; the write pipeline's <c>write_decide_latency</c>, <c>write_commit_latency</c> and
    /// <c>write_apply_latency</c>), or null when it did not answer.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, (long Count, double SumSeconds)>?> LatenciesAsync(SchedulerReplica replica, CancellationToken cancellationToken)
    {
        try
        {
            var vars = (await _probe.GetStringAsync(new Uri(replica.Url, "vars"), cancellationToken))
                .Split('\n')
                .Select(l => l.Split(' ', 2))
                .Where(f => f.Length == 2)
                .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            var latencies = new Dictionary<string, (long, double)>(StringComparer.Ordinal);
            foreach (var (name, count) in vars.Where(v => v.Key.EndsWith("_latency_count", StringComparison.Ordinal)))
            {
                var histogram = name[..^"_count".Length];
                if (vars.TryGetValue($"{histogram}_sum_seconds", out var sum))
                {
                    latencies[histogram] = (long.Parse(count, CultureInfo.InvariantCulture), double.Parse(sum, CultureInfo.InvariantCulture));
                }
            }

            return latencies;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Every replica's <c>/api/scheduler</c> in one line (status, role, term, positions), for error messages.</summary>
    public string Describe() => string.Join("; ", _replicas.Select(r => Invariant($"{r.Name} http {r.HttpPort} repl {r.ReplicationPort} {(r.Running ? $"pid {r.ProcessId}" : "not running")}")));

    /// <summary>The CPU seconds of every running replica so far.</summary>
    public double CpuSeconds() => _replicas.Sum(r => r.CpuSeconds());

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_replicas.Select(r => r.DisposeAsync().AsTask()));
    }

    private async Task<HttpStatusCode?> StatusAsync(SchedulerReplica replica, string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _probe.GetAsync(new Uri(replica.Url, path), cancellationToken);
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task InitializeLogAsync(string bin, string log, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Path.Combine(bin, DistBin.LogTool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("initialize");
        start.ArgumentList.Add($"--path={log}");
        start.ArgumentList.Add($"--cluster_name={ClusterName}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{DistBin.LogTool} initialize --path={log} exited with {process.ExitCode}: {await output}{await errors}");
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
