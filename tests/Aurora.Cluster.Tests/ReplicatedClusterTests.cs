using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Aurora.Cluster.Tests;

/// <summary>
/// Three aurora-scheduler processes from dist/bin replicating one log on loopback, with the
/// production election and lease timings, and an agent that knows every replica.
/// </summary>
public sealed partial class ReplicatedClusterTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly List<Replica> _replicas = [];
    private ChildProcess? _agent;
    private string _secret = string.Empty;
    private string _members = string.Empty;

    public async Task InitializeAsync()
    {
        _secret = Path.Combine(_root.Path, "secret");
        await File.WriteAllBytesAsync(_secret, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        for (var i = 0; i < 3; i++)
        {
            _replicas.Add(new Replica($"r{i}", DistClients.FreePort(), DistClients.FreePort(), _root.Sub($"r{i}")));
        }

        _members = string.Join(',', _replicas.Select(r => $"127.0.0.1:{r.ReplicationPort}"));
        foreach (var replica in _replicas)
        {
            var init = ChildProcess.Start(Path.Combine(DistClients.DistBin, "aurora-log"), ["initialize", $"--path={replica.LogDirectory}", "--cluster_name=replicated"]);
            Assert.Equal(0, await init.WaitForExitAsync(TimeSpan.FromMinutes(1)));
            init.Dispose();
            await StartAsync(replica);
        }
    }

    public async Task DisposeAsync()
    {
        _agent?.Kill();
        _agent?.Dispose();
        foreach (var replica in _replicas)
        {
            replica.Process?.Kill();
            replica.Process?.Dispose();
        }

        _http.Dispose();
        await Task.CompletedTask;
        _root.Dispose();
    }

    [Fact]
    public async Task A_wrong_quorum_size_is_refused_at_start_with_the_rule()
    {
        var replica = _replicas[0];
        using var wrong = ChildProcess.Start(Path.Combine(DistClients.DistBin, "aurora-scheduler"), [.. Flags(replica, "-http_port=0"), "-native_log_quorum_size=1"]);

        Assert.Equal(2, await wrong.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("-native_log_quorum_size=1", wrong.StandardError, StringComparison.Ordinal);
        Assert.Contains("floor(3/2)+1 = 2", wrong.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Killing_the_leader_during_writes_loses_no_acknowledged_write_and_its_tasks_keep_running()
    {
        // An agent that knows every replica, and a job running on it.
        _agent = ChildProcess.Start(Path.Combine(DistClients.DistBin, "aurora-agent"),
        [
            $"-scheduler={string.Join(',', _replicas.Select(r => r.Url.ToString().TrimEnd('/')))}",
            $"-work_dir={_root.Sub("agent")}", "-hostname=agent-1", "-ip=127.0.0.1", "-http_port=0", "-heartbeat_wait=1secs",
            "-resources=cpus:4;mem:4096;disk:8192;ports:[42000-42099]",
        ]);
        var leader = await LeaderAsync();
        var config = _root.Sub("config");
        Directory.CreateDirectory(config);
        Directory.CreateDirectory(_root.Sub("home"));
        await File.WriteAllTextAsync(Path.Combine(config, "clusters.json"), new JsonArray(
            new JsonObject { ["name"] = "devcluster", ["scheduler_uri"] = leader.ToString().TrimEnd('/'), ["auth_mechanism"] = "UNAUTHENTICATED" }).ToJsonString());
        var file = Path.Combine(_root.Path, "sleeper.json");
        await File.WriteAllTextAsync(file, Jobs.Service("www-data", "sleeper", 1, "sleep 600").ToJsonString());
        var create = await DistClients.RunAsync("aurora", ["job", "create", "devcluster/www-data/prod/sleeper", file], config, _root.Sub("home"), _root.Path);
        Assert.True(create.ExitCode == 0, create.ToString());
        var running = await ValueAsync("the job's task RUNNING", async () =>
        {
            var tasks = (await GetAsync(await LeaderAsync(), "api/tasks?role=www-data&environment=prod&name=sleeper&active=true"))["tasks"]!.AsArray();
            return tasks.Count == 1 && tasks[0]!["status"]!.GetValue<string>() == "RUNNING" ? tasks[0]!["taskId"]!.GetValue<string>() : null;
        });

        // Several clients write; each sends to any replica and follows the redirect to the leader.
        var acknowledged = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        var killedAt = new StrongBox<long>(0);
        var firstAfterKill = new StrongBox<long>(0);
        var writers = Enumerable.Range(0, 4).Select(c => Task.Run(() => WriteUntilAsync(c, acknowledged, killedAt, firstAfterKill, stop.Token))).ToList();
        await Eventually.HoldsAsync("writes acknowledged before the kill", () => acknowledged.Count >= 40);

        var old = _replicas.Single(r => r.Url == leader);
        Volatile.Write(ref killedAt.Value, Stopwatch.GetTimestamp());
        old.Process!.KillProcessOnly();
        await old.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync("a write acknowledged by the new leader", () => Volatile.Read(ref firstAfterKill.Value) != 0);
        var failover = Stopwatch.GetElapsedTime(Volatile.Read(ref killedAt.Value), Volatile.Read(ref firstAfterKill.Value));
        Assert.True(failover < TimeSpan.FromSeconds(3), $"the first write after the kill was acknowledged {failover.TotalMilliseconds:0} ms later");
        var countAtFailover = acknowledged.Count;
        await Eventually.HoldsAsync("more writes on the new leader", () => acknowledged.Count >= countAtFailover + 40);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        // The killed replica restarts and catches up; every acknowledged write is everywhere.
        old.Process.Dispose();
        await StartAsync(old);
        var successor = await LeaderAsync();
        Assert.NotEqual(old.Url, successor);
        var quotas = (await GetAsync(successor, "quotas")).AsObject();
        var missing = acknowledged.Keys.Where(role => quotas[role]?["cpu_cores"]?.GetValue<double>() != acknowledged[role]).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes missing, e.g. {string.Join(", ", missing.Take(5))}");
        await ConvergedAsync();

        // The task was never lost: the same task is RUNNING, reported through the new leader.
        var after = (await GetAsync(successor, "api/tasks?role=www-data&environment=prod&name=sleeper&active=true"))["tasks"]!.AsArray();
        Assert.Equal(running, Assert.Single(after)!["taskId"]!.GetValue<string>());
        Assert.Equal("RUNNING", after[0]!["status"]!.GetValue<string>());
    }

    private async Task WriteUntilAsync(int client, ConcurrentDictionary<string, int> acknowledged, StrongBox<long> killedAt, StrongBox<long> firstAfterKill, CancellationToken stop)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var next = client;
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var role = $"c{client}-{i}";
            var value = 1 + (i % 7);
            var target = _replicas[next++ % _replicas.Count].Url;
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(target, $"api/quotas/{role}"))
            {
                Content = JsonContent.Create(new JsonObject { ["numCpus"] = value, ["ramMb"] = 1024, ["diskMb"] = 1024 }),
            };
            request.Headers.Add("X-Aurora-User", "admin");
            try
            {
                using var response = await http.SendAsync(request, stop);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    acknowledged[role] = value;
                    if (Volatile.Read(ref killedAt.Value) != 0)
                    {
                        Interlocked.CompareExchange(ref firstAfterKill.Value, Stopwatch.GetTimestamp(), 0);
                    }
                }
                else
                {
                    await Task.Delay(20, stop);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // The replica is down, or no leader yet: the next replica.
            }
        }
    }

    private async Task ConvergedAsync()
    {
        var positions = new List<ulong>();
        await Eventually.HoldsAsync("every replica applied the same position", async () =>
        {
            positions = [];
            foreach (var replica in _replicas)
            {
                positions.Add((await GetAsync(replica.Url, "api/scheduler"))["replica"]!["appliedPosition"]!.GetValue<ulong>());
            }

            return positions.Distinct().Count() == 1;
        }, describe: () => string.Join(", ", positions));
        var hashes = new List<string>();
        foreach (var replica in _replicas)
        {
            hashes.Add((await GetAsync(replica.Url, "state"))["stateHash"]!.GetValue<string>());
        }

        Assert.Single(hashes.Distinct());
    }

    private async Task<Uri> LeaderAsync() => await ValueAsync("a leader", async () =>
    {
        foreach (var replica in _replicas.Where(r => r.Process is { HasExited: false }))
        {
            try
            {
                using var response = await _http.GetAsync(new Uri(replica.Url, "leaderhealth"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return replica.Url;
                }
            }
            catch (HttpRequestException)
            {
            }
        }

        return null;
    });

    private async Task StartAsync(Replica replica)
    {
        replica.Process = ChildProcess.Start(Path.Combine(DistClients.DistBin, "aurora-scheduler"), Flags(replica, $"-http_port={replica.HttpPort}"));
        await replica.Process.WaitForLineAsync(Ready(), TimeSpan.FromMinutes(2));
    }

    private string[] Flags(Replica replica, string httpPort) =>
    [
        "-cluster_name=replicated", "-ip=127.0.0.1", httpPort,
        $"-native_log_file_path={replica.LogDirectory}", $"-backup_dir={replica.Directory}/backups",
        $"-native_log_replicas={_members}", $"-replication_port={replica.ReplicationPort}", $"-replication_secret_file={_secret}",
        "-agent_timeout=20secs",
    ];

    private async Task<JsonNode> GetAsync(Uri replica, string path)
    {
        var text = await _http.GetStringAsync(new Uri(replica, path));
        return JsonNode.Parse(text)!;
    }

    /// <summary>Polls <paramref name="probe"/> until it yields a value.</summary>
    private static async Task<T> ValueAsync<T>(string what, Func<Task<T?>> probe)
        where T : class
    {
        T? value = null;
        await Eventually.HoldsAsync(what, async () => (value = await probe()) is not null);
        return value!;
    }

    [GeneratedRegex("Storage is READY")]
    private static partial Regex Ready();

    private sealed class Replica(string name, int httpPort, int replicationPort, string directory)
    {
        public string Name { get; } = name;

        public int HttpPort { get; } = httpPort;

        public int ReplicationPort { get; } = replicationPort;

        public string Directory { get; } = directory;

        public string LogDirectory => Path.Combine(Directory, "log");

        public Uri Url => new($"http://127.0.0.1:{HttpPort}/");

        public ChildProcess? Process { get; set; }
    }

    private sealed class StrongBox<T>(T value)
    {
        public T Value = value;
    }
}
