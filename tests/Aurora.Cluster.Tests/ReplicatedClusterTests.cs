using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Aurora.Cluster.Tests;

/// <summary>
/// Three aurora-scheduler processes from dist/bin replicating one log on loopback, with the
/// production election and lease timings, and an agent that knows every replica.
/// </summary>
public sealed partial class ReplicatedClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    // Follows no redirect: each request is answered by the replica it names.
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly List<Replica> _replicas = [];
    private readonly List<Replica> _removed = [];
    private ChildProcess? _agent;
    private string _secret = string.Empty;
    private string _members = string.Empty;
    private bool _disposed;

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
            _replicas.Add(new Replica($"r{i}", _root.Sub($"r{i}")));
        }

        _members = string.Join(',', _replicas.Select(r => $"127.0.0.1:{r.ReplicationPort}"));
        try
        {
            foreach (var replica in _replicas)
            {
                using var init = ChildProcess.Start(Path.Combine(DistClients.DistBin, "aurora-log"), ["initialize", $"--path={replica.LogDirectory}", "--cluster_name=replicated"]);
                Assert.Equal(0, await init.WaitForExitAsync(TimeSpan.FromMinutes(1)));
                await StartAsync(replica);
            }
        }
        catch
        {
            // xunit does not dispose a test class whose InitializeAsync threw: the replicas already started stop here.
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _agent?.Kill();
        _agent?.Dispose();
        foreach (var replica in _replicas)
        {
            replica.Process?.Kill();
            // What each replica warned of (leadership moves, lease losses) shows beside a failure.
            foreach (var line in replica.Process?.Lines.Where(l => l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)) ?? [])
            {
                output.WriteLine($"{replica.Name}: {line}");
            }

            replica.Process?.Dispose();
        }

        foreach (var replica in _replicas.Concat(_removed))
        {
            await replica.Proxy.DisposeAsync();
        }

        _http.Dispose();
        _root.Dispose();
    }

    [Fact]
    public async Task A_wrong_quorum_size_is_refused_at_start_with_the_rule()
    {
        var replica = _replicas[0];
        using var wrong = ChildProcess.Start(Path.Combine(DistClients.DistBin, "aurora-scheduler"), [.. Flags(replica, httpPort: 0, bindPort: 0), "-native_log_quorum_size=1"]);

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
            "-resources=cpus:4;mem:4096;disk:8192;ports:[42000-42099]", "-nosetuid", "-isolation=none",
        ]);
        var leader = await LeaderAsync();
        var file = Path.Combine(_root.Path, "sleeper.json");
        await File.WriteAllTextAsync(file, Jobs.Service("www-data", "sleeper", 1, "sleep 600").ToJsonString());
        var create = await ClientAsync("aurora", leader, "job", "create", "devcluster/www-data/prod/sleeper", file);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (create.ExitCode != 0 && IsRefusedUncommitted(create.Err) && DateTime.UtcNow < deadline)
        {
            // Leadership moved while the replicas started on a loaded machine (the start-up lease
            // loss the closing notes describe); the create was refused before it was decided, so a
            // careful operator sends it again to the replica leading now.
            create = await ClientAsync("aurora", await LeaderAsync(), "job", "create", "devcluster/www-data/prod/sleeper", file);
        }

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

    [Fact]
    public async Task A_leader_cut_off_by_the_network_stops_taking_writes_while_the_majority_elects_and_all_converge_after_healing()
    {
        var leader = await LeaderAsync();
        await PutQuotaAsync(leader, "before", 1);
        var old = _replicas.Single(r => r.Url == leader);

        // Nothing reaches the leader's replication port any more: no acknowledgement, no vote, no append.
        old.Proxy.Cut();
        var successor = await ValueAsync("a leader on the majority side", async () => await LeaderAsync() is var l && l != leader ? l : null);
        await PutQuotaAsync(successor, "majority", 2);

        // The minority refuses: what it is sent is never acknowledged.
        var (status, body) = await PutQuotaStatusAsync(old.Url, "minority", 3);
        Assert.True(status != HttpStatusCode.OK, $"the cut-off replica acknowledged a write: {body}");
        using (var health = await _http.GetAsync(new Uri(old.Url, "leaderhealth")))
        {
            Assert.NotEqual(HttpStatusCode.OK, health.StatusCode);
        }

        old.Proxy.Heal();
        await PutQuotaAsync(await LeaderAsync(), "after", 4);
        await ConvergedAsync();
        foreach (var replica in _replicas)
        {
            var quotas = (await GetAsync(replica.Url, "quotas")).AsObject();
            Assert.False(quotas.ContainsKey("minority"), $"{replica.Name} applied the minority's write");
            Assert.True(new[] { "before", "majority", "after" }.All(quotas.ContainsKey), $"{replica.Name} lacks a committed write");
        }
    }

    [Fact]
    public async Task A_leader_paused_while_the_majority_moved_on_acknowledges_nothing_when_it_wakes()
    {
        var leader = await LeaderAsync();
        await PutQuotaAsync(leader, "before", 1);
        var old = _replicas.Single(r => r.Url == leader);

        // The leader stands still (SIGSTOP); a write sent to it waits in its socket meanwhile.
        old.Process!.Pause();
        old.Paused = true;
        Task<HttpStatusCode> stale;
        try
        {
            stale = Task.Run(async () =>
            {
                using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMinutes(1) };
                using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(old.Url, "api/quotas/ghost"))
                {
                    Content = JsonContent.Create(new JsonObject { ["numCpus"] = 9, ["ramMb"] = 1024, ["diskMb"] = 1024 }),
                };
                request.Headers.Add("X-Aurora-User", "admin");
                using var response = await http.SendAsync(request);
                return response.StatusCode;
            });
            var successor = await LeaderAsync();
            Assert.NotEqual(leader, successor);
            await PutQuotaAsync(successor, "during", 2);
        }
        finally
        {
            old.Process.Resume();
            old.Paused = false;
        }

        // It wakes believing it leads: the write it then takes must not be acknowledged, nor applied anywhere.
        Assert.NotEqual(HttpStatusCode.OK, await stale);
        await PutQuotaAsync(await LeaderAsync(), "after", 3);
        await ConvergedAsync();
        foreach (var replica in _replicas)
        {
            var quotas = (await GetAsync(replica.Url, "quotas")).AsObject();
            Assert.False(quotas.ContainsKey("ghost"), $"{replica.Name} applied the paused leader's write");
            Assert.True(quotas.ContainsKey("during") && quotas.ContainsKey("after"));
        }
    }

    [Fact]
    public async Task A_replica_with_a_wiped_directory_rejoins_empty_recovers_the_log_and_votes_again()
    {
        var leader = await LeaderAsync();
        for (var i = 0; i < 30; i++)
        {
            await PutQuotaAsync(leader, $"before-{i}", 1 + (i % 5));
        }

        // A follower loses its disk: an empty directory, not initialized.
        var wiped = _replicas.First(r => r.Url != leader);
        await StopAsync(wiped, kill: true);
        Directory.Delete(wiped.LogDirectory, recursive: true);
        Directory.CreateDirectory(wiped.LogDirectory);
        await StartAsync(wiped);
        await Eventually.HoldsAsync("the wiped replica VOTING again", async () =>
            (await GetAsync(wiped.Url, "api/scheduler"))["replica"]!["status"]!.GetValue<string>() == "VOTING");
        await ConvergedAsync();

        // The leader's view, as an operator reads it: every replica, VOTING. Leadership may have moved
        // meanwhile on a loaded machine (a follower's view has no table), so the view is asked of
        // whichever replica leads when it is read.
        ClientRun? view = null;
        await Eventually.HoldsAsync("the leader's view lists every replica VOTING", async () =>
        {
            view = await ClientAsync("aurora_admin", await LeaderAsync(), "get_scheduler", "devcluster");
            return view.ExitCode == 0
                && _replicas.All(r => view.Out.Contains($"127.0.0.1:{r.ReplicationPort}", StringComparison.Ordinal))
                && view.Out.Split('\n').Count(line => line.Contains("VOTING", StringComparison.Ordinal) && line.Contains("127.0.0.1:", StringComparison.Ordinal)) == 3;
        }, describe: () => view?.ToString() ?? "no answer");

        // With the other follower gone, a write commits only if the wiped replica holds it: it votes.
        var other = _replicas.Single(r => r != wiped && r.Url != leader);
        await StopAsync(other, kill: true);
        var survivor = await LeaderAsync();
        await PutQuotaAsync(survivor, "after", 9);
        var quotas = (await GetAsync(survivor, "quotas")).AsObject();
        Assert.Equal(9, quotas["after"]!["cpu_cores"]!.GetValue<double>());
        Assert.Equal(30, quotas.Count(q => q.Key.StartsWith("before-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Staged_recovery_committed_on_the_leader_reaches_every_replica()
    {
        var leader = await LeaderAsync();
        await PutQuotaAsync(leader, "kept", 3);
        var backup = await PostAsync(leader, "api/backups", null);
        await PutQuotaAsync(leader, "later", 5);

        await PostAsync(leader, "api/recovery/stage", new JsonObject { ["backupId"] = backup["id"]!.GetValue<string>() });
        await PostAsync(leader, "api/recovery/commit", null);

        await ConvergedAsync();
        foreach (var replica in _replicas)
        {
            var quotas = (await GetAsync(replica.Url, "quotas")).AsObject();
            Assert.Equal(3, quotas["kept"]!["cpu_cores"]!.GetValue<double>());
            Assert.False(quotas.ContainsKey("later"), $"{replica.Name} still holds a quota written after the backup");
        }
    }

    [Fact]
    public async Task Three_replicas_grow_to_five_and_shrink_to_three_by_Aurora_s_procedure()
    {
        await PutQuotaAsync(await LeaderAsync(), "on-three", 3);

        // Stop every replica, list five (the two new ones with empty, uninitialized directories), start all five.
        foreach (var replica in _replicas)
        {
            await StopAsync(replica, kill: false);
        }

        for (var i = 3; i < 5; i++)
        {
            var added = new Replica($"r{i}", _root.Sub($"r{i}"));
            Directory.CreateDirectory(added.LogDirectory);
            _replicas.Add(added);
        }

        _members = string.Join(',', _replicas.Select(r => $"127.0.0.1:{r.ReplicationPort}"));
        foreach (var replica in _replicas)
        {
            await StartAsync(replica);
        }

        await PutQuotaAsync(await LeaderAsync(), "on-five", 5);
        await ConvergedAsync();
        foreach (var replica in _replicas)
        {
            Assert.Equal("VOTING", (await GetAsync(replica.Url, "api/scheduler"))["replica"]!["status"]!.GetValue<string>());
        }

        // And back: stop all five, list three of them, start those three.
        foreach (var replica in _replicas)
        {
            await StopAsync(replica, kill: false);
        }

        _removed.AddRange(_replicas.Take(2));
        _replicas.RemoveRange(0, 2);
        _members = string.Join(',', _replicas.Select(r => $"127.0.0.1:{r.ReplicationPort}"));
        foreach (var replica in _replicas)
        {
            await StartAsync(replica);
        }

        var leader = await LeaderAsync();
        await PutQuotaAsync(leader, "back-on-three", 7);
        await ConvergedAsync();
        var quotas = (await GetAsync(leader, "quotas")).AsObject();
        Assert.Equal([3.0, 5.0, 7.0], new[] { "on-three", "on-five", "back-on-three" }.Select(role => quotas[role]!["cpu_cores"]!.GetValue<double>()));
    }

    [Fact]
    public async Task A_cluster_restored_from_a_backup_on_a_majority_brings_the_third_replica_up_from_them()
    {
        var leader = await LeaderAsync();
        await PutQuotaAsync(leader, "kept", 3);
        var backup = await PostAsync(leader, "api/backups", null);
        var file = Directory.GetFiles(_replicas.Single(r => r.Url == leader).Directory, "*.bak", SearchOption.AllDirectories)
            .Single(f => Path.GetFileName(f).Contains(backup["id"]!.GetValue<string>(), StringComparison.Ordinal));
        await PutQuotaAsync(leader, "lost", 5);

        // Every disk is lost. docs/disaster-recovery.md: recover two of three from the same backup, leave the third empty.
        var saved = Path.Combine(_root.Path, Path.GetFileName(file));
        File.Copy(file, saved);
        foreach (var replica in _replicas)
        {
            await StopAsync(replica, kill: true);
            Directory.Delete(replica.Directory, recursive: true);
            Directory.CreateDirectory(replica.LogDirectory);
        }

        foreach (var replica in _replicas.Take(2))
        {
            using var recover = ChildProcess.Start(Path.Combine(DistClients.DistBin, "aurora-log"), ["recover", $"--backup={saved}", $"--path={replica.LogDirectory}"]);
            Assert.True(await recover.WaitForExitAsync(TimeSpan.FromMinutes(1)) == 0, recover.Output);
        }

        foreach (var replica in _replicas)
        {
            await StartAsync(replica);
        }

        await Eventually.HoldsAsync("the empty replica VOTING", async () =>
            (await GetAsync(_replicas[2].Url, "api/scheduler"))["replica"]!["status"]!.GetValue<string>() == "VOTING");
        await ConvergedAsync();
        foreach (var replica in _replicas)
        {
            var quotas = (await GetAsync(replica.Url, "quotas")).AsObject();
            Assert.Equal(3, quotas["kept"]!["cpu_cores"]!.GetValue<double>());
            Assert.False(quotas.ContainsKey("lost"));
        }

        await PutQuotaAsync(await LeaderAsync(), "after-restore", 4);
    }

    /// <summary>Runs a client of dist/bin against the cluster "devcluster" at <paramref name="scheduler"/>.</summary>
    private async Task<ClientRun> ClientAsync(string tool, Uri scheduler, params string[] args)
    {
        var config = _root.Sub("config");
        Directory.CreateDirectory(config);
        Directory.CreateDirectory(_root.Sub("home"));
        await File.WriteAllTextAsync(Path.Combine(config, "clusters.json"), new JsonArray(
            new JsonObject { ["name"] = "devcluster", ["scheduler_uri"] = scheduler.ToString().TrimEnd('/'), ["auth_mechanism"] = "UNAUTHENTICATED" }).ToJsonString());
        return await DistClients.RunAsync(tool, args, config, _root.Sub("home"), _root.Path);
    }

    /// <summary>A NOT_LEADER refusal that says the write was not committed (never "may or may not"): safe to send again.</summary>
    private static bool IsRefusedUncommitted(string error) =>
        error.Contains("NOT_LEADER", StringComparison.Ordinal) && !error.Contains("may or may not", StringComparison.Ordinal);

    /// <summary>
    /// Sets a quota as a careful client does: setting a quota is idempotent, so a write refused with
    /// NOT_LEADER (leadership moved, as it may on a loaded machine), even one that may have been
    /// committed, is sent again to whichever replica leads then.
    /// </summary>
    private async Task PutQuotaAsync(Uri replica, string role, int cpus)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var (status, body) = await PutQuotaStatusAsync(replica, role, cpus);
        while (status == HttpStatusCode.ServiceUnavailable && body.Contains("NOT_LEADER", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            (status, body) = await PutQuotaStatusAsync(await LeaderAsync(), role, cpus);
        }

        Assert.True(status == HttpStatusCode.OK, $"PUT quota {role}: {(int)status} {body}");
    }

    private async Task<(HttpStatusCode Status, string Body)> PutQuotaStatusAsync(Uri replica, string role, int cpus)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(replica, $"api/quotas/{role}"))
        {
            Content = JsonContent.Create(new JsonObject { ["numCpus"] = cpus, ["ramMb"] = 1024, ["diskMb"] = 1024 }),
        };
        request.Headers.Add("X-Aurora-User", "admin");
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonNode> PostAsync(Uri replica, string path, JsonNode? body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(replica, path)) { Content = JsonContent.Create(body ?? new JsonObject()) };
        request.Headers.Add("X-Aurora-User", "admin");
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task StopAsync(Replica replica, bool kill)
    {
        if (kill)
        {
            replica.Process!.KillProcessOnly();
        }
        else
        {
            replica.Process!.Terminate();
        }

        await replica.Process.WaitForExitAsync(TimeSpan.FromMinutes(1));
        replica.Process.Dispose();
        replica.Process = null;
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
            foreach (var replica in _replicas.Where(r => r.Process is not null))
            {
                positions.Add((await GetAsync(replica.Url, "api/scheduler"))["replica"]!["appliedPosition"]!.GetValue<ulong>());
            }

            return positions.Distinct().Count() == 1;
        }, describe: () => string.Join(", ", positions));
        var hashes = new List<string>();
        foreach (var replica in _replicas.Where(r => r.Process is not null))
        {
            hashes.Add((await GetAsync(replica.Url, "state"))["stateHash"]!.GetValue<string>());
        }

        Assert.Single(hashes.Distinct());
    }

    private async Task<Uri> LeaderAsync() => await ValueAsync("a leader", async () =>
    {
        foreach (var replica in _replicas.Where(r => r.Process is { HasExited: false } && !r.Paused))
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

    /// <summary>
    /// Starts a replica. The first start binds any free HTTP and replication ports (the replica binds
    /// them itself: no other process can take them between a choice and the bind); a restart keeps
    /// them, as a real replica's address stays, unless another process took one meanwhile.
    /// </summary>
    private async Task StartAsync(Replica replica)
    {
        try
        {
            await StartOnAsync(replica, replica.HttpPort, replica.BindPort);
        }
        catch (InvalidOperationException e) when (replica.HttpPort != 0 && e.Message.Contains("already in use", StringComparison.Ordinal))
        {
            replica.Process!.Dispose();
            await StartOnAsync(replica, 0, 0);
        }
    }

    private async Task StartOnAsync(Replica replica, int httpPort, int bindPort)
    {
        replica.Process = ChildProcess.Start(Path.Combine(DistClients.DistBin, "aurora-scheduler"), Flags(replica, httpPort, bindPort));
        await replica.Process.WaitForLineAsync(Ready(), TimeSpan.FromMinutes(2));
        replica.HttpPort = int.Parse(replica.Process.Lines.Select(l => HttpListening().Match(l)).First(m => m.Success).Groups["port"].Value, CultureInfo.InvariantCulture);
        replica.BindPort = int.Parse(replica.Process.Lines.Select(l => ReplicationListening().Match(l)).First(m => m.Success).Groups["port"].Value, CultureInfo.InvariantCulture);
        replica.Proxy.Target = replica.BindPort;
    }

    private string[] Flags(Replica replica, int httpPort, int bindPort) =>
    [
        "-cluster_name=replicated", "-ip=127.0.0.1", $"-http_port={httpPort}",
        $"-native_log_file_path={replica.LogDirectory}", $"-backup_dir={replica.Directory}/backups",
        $"-native_log_replicas={_members}", $"-replication_port={replica.ReplicationPort}", $"-replication_bind_port={bindPort}",
        $"-replication_secret_file={_secret}",
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

    [GeneratedRegex(@"listening on http://127\.0\.0\.1:(?<port>\d+)")]
    private static partial Regex HttpListening();

    [GeneratedRegex(@"Replication transport of \S+ listening on \S+:(?<port>\d+),")]
    private static partial Regex ReplicationListening();

    /// <summary>
    /// One replica: its peers reach it through <see cref="Proxy"/> (its entry in -native_log_replicas
    /// is the proxy's port, and it binds <see cref="BindPort"/>), so a test can cut it off the network.
    /// Its ports are 0 until it first started.
    /// </summary>
    private sealed class Replica(string name, string directory)
    {
        public string Name { get; } = name;

        public int HttpPort { get; set; }

        public int BindPort { get; set; }

        public LoopbackProxy Proxy { get; } = new(0);

        public int ReplicationPort => Proxy.Port;

        public string Directory { get; } = directory;

        public string LogDirectory => Path.Combine(Directory, "log");

        public Uri Url => new($"http://127.0.0.1:{HttpPort}/");

        public ChildProcess? Process { get; set; }

        /// <summary>SIGSTOPped: asked nothing until resumed.</summary>
        public bool Paused { get; set; }
    }

    private sealed class StrongBox<T>(T value)
    {
        public T Value = value;
    }
}
