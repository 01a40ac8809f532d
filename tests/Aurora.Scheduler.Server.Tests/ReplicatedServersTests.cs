using System.Net;
using System.Text.Json.Nodes;
using Aurora.Scheduler.Server.Tests.Support;
using Aurora.Storage.IO;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>
/// Three aurora-scheduler replicas in this process over loopback TCP: one source of leadership, the
/// replicated log's. Followers redirect the API (reads and writes) to the leader with a body naming
/// it, answer their own status locally, run no placement, and a new leader serves what the old one
/// acknowledged.
/// </summary>
public sealed class ReplicatedServersTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private readonly TempDirectory _root = new();
    private readonly List<ServerHarness> _servers = [];
    private readonly CapturedLogs _logs = new();

    public async Task InitializeAsync()
    {
        var secret = Path.Combine(_root.Path, "secret");
        await File.WriteAllBytesAsync(secret, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var ports = DistClients.FreePorts(3);
        var replicas = string.Join(',', ports.Select(p => $"127.0.0.1:{p}"));
        foreach (var port in ports)
        {
            _servers.Add(await ServerHarness.StartAsync(
                _root.Sub($"replica-{port}"),
                extraFlags:
                [
                    $"-native_log_replicas={replicas}", $"-replication_port={port}", $"-replication_secret_file={secret}",

                    // Generous, for a loaded test machine (three servers starting in one process): the test is about who serves, not how fast.
                    "-replication_heartbeat_interval=100ms", "-replication_leader_lease=1secs",
                    "-replication_election_timeout_min=1500ms", "-replication_election_timeout_max=3secs",
                ],
                loggers: _logs.Factory));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task Followers_redirect_the_api_to_the_one_leader_and_run_no_placement()
    {
        var leader = await LeaderAsync();
        var followers = _servers.Where(s => s != leader).ToList();
        var (created, answer) = await leader.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) });
        Assert.True(created == 200, answer?.ToJsonString() + string.Join("\n", _logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Message)));

        foreach (var follower in followers)
        {
            // A write and a read, both to the leader; a client that does not follow learns where it is.
            using var write = await follower.Http.PostAsync("api/jobs/www-data/prod/hello/kill?x=1", new StringContent("{}"));
            Assert.Equal(HttpStatusCode.TemporaryRedirect, write.StatusCode);
            Assert.Equal(new Uri(leader.Server.BaseUri, "api/jobs/www-data/prod/hello/kill?x=1"), write.Headers.Location);
            var body = JsonNode.Parse(await write.Content.ReadAsStringAsync())!;
            Assert.Equal("NOT_LEADER", body["error"]!["code"]!.GetValue<string>());
            Assert.Contains(leader.Server.BaseUri.ToString(), body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(307, (await follower.GetAsync("/api/jobs")).Status);

            Assert.Equal(503, (await follower.GetAsync("/leaderhealth")).Status);
            var (status, view) = await follower.GetAsync("/api/scheduler");
            Assert.Equal(200, status);
            Assert.False(view!["leading"]!.GetValue<bool>());
            Assert.Equal(leader.Server.Runtime.StoreIfOpen!.Replication.Status.SelfId, view["leaderId"]!.GetValue<string>());
        }

        Assert.Equal(200, (await leader.GetAsync("/leaderhealth")).Status);
        var (_, leaderView) = await leader.GetAsync("/api/scheduler");
        Assert.Equal(3, leaderView!["replicas"]!.AsArray().Count);

        // The leader's cluster loop planned the pending tasks (with no agent, each says why it waits); no follower's ran at all.
        await Eventually.HoldsAsync("the leader planned both pending tasks", () => leader.Server.Runtime.Agents.PendingReasons.Count == 2, Patience, poll: Poll);
        var position = leader.Server.Runtime.Store.AppliedPosition;
        await Eventually.HoldsAsync("every follower applied the leader's position", () => followers.All(f => f.Server.Runtime.StoreIfOpen!.AppliedPosition >= position), Patience, poll: Poll);
        Assert.All(followers, f => Assert.Empty(f.Server.Runtime.Agents.PendingReasons));
        var hashes = _servers.Select(s => s.Server.Runtime.StoreIfOpen!.Read((state, applied) => applied == position ? Convert.ToHexString(state.StateHash()) : null)).ToList();
        Assert.Single(hashes.Distinct());

        // Each follower takes its own snapshot; the leader's view shows what every follower
        // reported of itself: its term, committed and applied positions, and that snapshot.
        var snapshots = new Dictionary<string, ulong>();
        foreach (var follower in followers)
        {
            var store = follower.Server.Runtime.StoreIfOpen!;
            snapshots[store.Replication.Status.SelfId] = (await store.TakeSnapshotAsync())!.Position;
        }

        JsonArray rows = [];
        await Eventually.HoldsAsync("the leader's view shows each follower's snapshot and applied position", async () =>
        {
            rows = (await leader.GetAsync("/api/scheduler")).Body!["replicas"]!.AsArray();
            return rows.Where(r => !r!["self"]!.GetValue<bool>()).All(r =>
                r!["lastSnapshotPosition"]?.GetValue<ulong>() == snapshots[r["id"]!.GetValue<string>()]
                && r["appliedPosition"]?.GetValue<ulong>() >= position);
        }, Patience, describe: () => rows.ToJsonString(), poll: Poll);
        var term = leader.Server.Runtime.StoreIfOpen!.Replication.Status.Term;
        Assert.All(rows, r =>
        {
            Assert.Equal("VOTING", r!["status"]!.GetValue<string>());
            Assert.Equal(term, r["term"]!.GetValue<ulong>());
            Assert.True(r["committedPosition"]!.GetValue<ulong>() >= position, r.ToJsonString());
        });
    }

    [Fact]
    public async Task When_the_leader_stops_another_serves_what_it_acknowledged()
    {
        var old = await LeaderAsync();
        var (set, answer) = await old.SendAsync(HttpMethod.Put, "/api/quotas/www-data", new JsonObject { ["numCpus"] = 4, ["ramMb"] = 4096, ["diskMb"] = 4096 }, user: "admin");
        Assert.True(set == 200, answer?.ToJsonString());

        _servers.Remove(old);
        await old.DisposeAsync();
        var successor = await LeaderAsync();

        var (status, quotas) = await successor.GetAsync("/quotas?role=www-data");
        Assert.Equal(200, status);
        Assert.Equal(4, quotas!["www-data"]!["cpu_cores"]!.GetValue<double>());
        Assert.Equal(200, (await successor.SendAsync(HttpMethod.Put, "/api/quotas/www-data", new JsonObject { ["numCpus"] = 8, ["ramMb"] = 4096, ["diskMb"] = 4096 }, user: "admin")).Status);
    }

    private async Task<ServerHarness> LeaderAsync()
    {
        ServerHarness? leader = null;
        await Eventually.HoldsAsync("a writable leader", () => (leader = _servers.FirstOrDefault(s => s.Server.Runtime.IsLeader && s.Server.Runtime.StoreIfOpen is { IsWritable: true })) is not null, Patience, poll: Poll);
        return leader!;
    }
}
