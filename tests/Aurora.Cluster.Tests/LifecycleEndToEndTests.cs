using System.Text.Json.Nodes;

namespace Aurora.Cluster.Tests;

/// <summary>Agents dying, schedulers restarting, updates, cron and drains, with real processes.</summary>
[Collection(ClusterCollection.Name)]
public sealed class LifecycleEndToEndTests(ClusterFixture fixture) : IAsyncLifetime
{
    private AgentCluster Cluster => fixture.Cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Cluster.KillEverythingAsync();

    [Fact]
    public async Task A_killed_agents_tasks_go_lost_and_run_elsewhere_and_its_orphans_are_killed_when_it_returns()
    {
        var file = Cluster.JobFile("survivor.json", Jobs.Service("www-data", "survivor", 4, "sleep 600"));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/survivor", file)).ExitCode);
        var before = await Cluster.WaitForRunningAsync("www-data/prod/survivor", 4);
        var victim = before.GroupBy(AgentCluster.Host).OrderByDescending(g => g.Count()).First().Key!;
        var victimTasks = before.Where(t => AgentCluster.Host(t) == victim).Select(t => t["taskId"]!.GetValue<string>()).ToHashSet();
        Assert.NotEmpty(Cluster.ProcessesOf("www-data/prod/survivor", victim));

        await Cluster.KillAgentAsync(victim);

        // After the agent timeout its tasks are LOST and replaced on the other agents.
        await Eventually.HoldsAsync("the victim's tasks to be LOST and replaced elsewhere", async () =>
        {
            var all = await Cluster.TasksAsync("www-data/prod/survivor", activeOnly: false);
            var lost = all.Where(t => victimTasks.Contains(t["taskId"]!.GetValue<string>())).All(t => AgentCluster.Status(t) == "LOST");
            var active = all.Where(t => AgentCluster.Status(t) is not ("LOST" or "KILLED" or "FAILED" or "FINISHED")).ToList();
            return lost && active.Count == 4 && active.All(t => AgentCluster.Status(t) == "RUNNING" && AgentCluster.Host(t) != victim);
        });

        // The old processes outlived their agent; when it comes back, the scheduler has it kill them.
        Assert.NotEmpty(Cluster.ProcessesOf("www-data/prod/survivor", victim));
        Cluster.RestartAgent(victim);
        await Eventually.HoldsAsync($"the orphans on {victim} to be killed", () => Cluster.ProcessesOf("www-data/prod/survivor", victim).Count == 0);
        await Cluster.WaitForAgentsAsync(victim);

        await Cluster.KillJobAndCheckNoProcessesLeftAsync("www-data/prod/survivor");
    }

    [Fact]
    public async Task An_update_interrupted_by_a_scheduler_crash_resumes_from_the_log()
    {
        var v1 = Cluster.JobFile("rolling-v1.json", Jobs.Service("www-data", "rolling", 3, "echo v1; sleep 600"));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/rolling", v1)).ExitCode);
        await Cluster.WaitForRunningAsync("www-data/prod/rolling", 3);

        var v2 = Jobs.Service("www-data", "rolling", 3, "echo v2; sleep 600");
        v2["jobs"]![0]!["update_config"] = new JsonObject { ["batch_size"] = 1, ["watch_secs"] = 2 };
        var start = await Cluster.AuroraAsync("update", "start", "devcluster/www-data/prod/rolling", Cluster.JobFile("rolling-v2.json", v2));
        Assert.True(start.ExitCode == 0, start.ToString());
        var updates = await Cluster.GetAsync("api/updates?role=www-data&environment=prod&name=rolling");
        var id = updates["updates"]![0]!["key"]!["id"]!.GetValue<string>();

        // Crash the scheduler once the first instance has been replaced.
        await Eventually.HoldsAsync("the first instance to be updated", async () =>
            (await Cluster.GetAsync($"api/updates/www-data/prod/rolling/{id}"))["instanceEvents"]!.AsArray().Any(e => e!["action"]!.GetValue<string>() == "INSTANCE_UPDATED"));
        await Cluster.RestartSchedulerAsync(kill: true);

        await Eventually.HoldsAsync("the update to finish after the restart", async () =>
            (await Cluster.GetAsync($"api/updates/www-data/prod/rolling/{id}"))["status"]!.GetValue<string>() == "ROLLED_FORWARD",
            TimeSpan.FromSeconds(90));
        var tasks = await Cluster.WaitForRunningAsync("www-data/prod/rolling", 3);
        var details = await Cluster.GetAsync($"api/updates/www-data/prod/rolling/{id}");
        var updated = details["instanceEvents"]!.AsArray().Where(e => e!["action"]!.GetValue<string>() == "INSTANCE_UPDATED").Select(e => e!["instance"]!.GetValue<int>()).Order();
        Assert.Equal([0, 1, 2], updated);
        Assert.Equal(3, tasks.Count);
        var job = await Cluster.GetAsync("api/jobs/www-data/prod/rolling");
        Assert.Contains("echo v2", job["config"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("echo v1", job["config"]!.ToJsonString(), StringComparison.Ordinal);

        await Cluster.KillJobAndCheckNoProcessesLeftAsync("www-data/prod/rolling");
    }

    [Fact]
    public async Task An_update_whose_new_tasks_fail_rolls_back_to_the_running_configuration()
    {
        var v1 = Cluster.JobFile("sturdy-v1.json", Jobs.Service("www-data", "sturdy", 3, "echo v1; sleep 600"));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/sturdy", v1)).ExitCode);
        var before = await Cluster.WaitForRunningAsync("www-data/prod/sturdy", 3);

        var broken = Jobs.Service("www-data", "sturdy", 3, "echo v2; exit 3");
        broken["jobs"]![0]!["update_config"] = new JsonObject { ["batch_size"] = 1, ["watch_secs"] = 2, ["max_per_shard_failures"] = 0, ["max_total_failures"] = 0, ["rollback_on_failure"] = true };
        var start = await Cluster.AuroraAsync("update", "start", "devcluster/www-data/prod/sturdy", Cluster.JobFile("sturdy-v2.json", broken));
        Assert.True(start.ExitCode == 0, start.ToString());
        var id = (await Cluster.GetAsync("api/updates?role=www-data&environment=prod&name=sturdy"))["updates"]![0]!["key"]!["id"]!.GetValue<string>();

        await Eventually.HoldsAsync("the update to roll back", async () =>
            (await Cluster.GetAsync($"api/updates/www-data/prod/sturdy/{id}"))["status"]!.GetValue<string>() == "ROLLED_BACK",
            TimeSpan.FromSeconds(90));

        var details = await Cluster.GetAsync($"api/updates/www-data/prod/sturdy/{id}");
        var actions = details["instanceEvents"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()).ToList();
        Assert.Contains("INSTANCE_UPDATE_FAILED", actions);
        Assert.Contains("INSTANCE_ROLLED_BACK", actions);
        var after = await Cluster.WaitForRunningAsync("www-data/prod/sturdy", 3);
        var all = await Cluster.TasksAsync("www-data/prod/sturdy", activeOnly: false);
        Assert.Contains(all, t => AgentCluster.Status(t) == "FAILED");
        var job = await Cluster.GetAsync("api/jobs/www-data/prod/sturdy");
        Assert.Contains("echo v1", job["config"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("echo v2", job["config"]!.ToJsonString(), StringComparison.Ordinal);

        // Instances the update never reached kept their tasks.
        Assert.True(after.Count(t => before.Any(b => b["taskId"]!.GetValue<string>() == t["taskId"]!.GetValue<string>())) >= 1);
        await Cluster.KillJobAndCheckNoProcessesLeftAsync("www-data/prod/sturdy");
    }

    [Fact]
    public async Task A_cron_job_fires_on_its_schedule_and_its_collision_policies_hold()
    {
        // CANCEL_NEW: a run still going means a new one is skipped.
        var cancelNew = Cluster.JobFile("ticker.json", Jobs.Cron("www-data", "ticker", "* * * * *", "CANCEL_NEW", "sleep 600"));
        Assert.Equal(0, (await Cluster.AuroraAsync("cron", "schedule", "devcluster/www-data/prod/ticker", cancelNew)).ExitCode);
        var fired = await WaitForSingleRunningAsync("www-data/prod/ticker", TimeSpan.FromSeconds(80));
        Assert.Equal(0, (await Cluster.AuroraAsync("cron", "start", "devcluster/www-data/prod/ticker")).ExitCode);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var afterStart = await Cluster.TasksAsync("www-data/prod/ticker");
        Assert.Equal(fired, Assert.Single(afterStart)["taskId"]!.GetValue<string>());

        // KILL_EXISTING: a new run replaces the one still going.
        var killExisting = Cluster.JobFile("replacer.json", Jobs.Cron("www-data", "replacer", "0 0 1 1 *", "KILL_EXISTING", "sleep 600"));
        Assert.Equal(0, (await Cluster.AuroraAsync("cron", "schedule", "devcluster/www-data/prod/replacer", killExisting)).ExitCode);
        Assert.Equal(0, (await Cluster.AuroraAsync("cron", "start", "devcluster/www-data/prod/replacer")).ExitCode);
        var first = await WaitForSingleRunningAsync("www-data/prod/replacer", TimeSpan.FromSeconds(30));
        Assert.Equal(0, (await Cluster.AuroraAsync("cron", "start", "devcluster/www-data/prod/replacer")).ExitCode);
        await Eventually.HoldsAsync("the second run to replace the first", async () =>
        {
            var all = await Cluster.TasksAsync("www-data/prod/replacer", activeOnly: false);
            return all.Any(t => t["taskId"]!.GetValue<string>() == first && AgentCluster.Status(t) == "KILLED")
                && all.Count(t => AgentCluster.Status(t) == "RUNNING") == 1;
        });

        foreach (var job in new[] { "ticker", "replacer" })
        {
            Assert.Equal(0, (await Cluster.AuroraAsync("cron", "deschedule", $"devcluster/www-data/prod/{job}")).ExitCode);
            await Cluster.KillJobAndCheckNoProcessesLeftAsync($"www-data/prod/{job}");
        }
    }

    [Fact]
    public async Task A_drain_moves_every_task_off_the_host_and_no_new_task_lands_there()
    {
        var file = Cluster.JobFile("movable.json", Jobs.Service("www-data", "movable", 4, "sleep 600"));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/movable", file)).ExitCode);
        var before = await Cluster.WaitForRunningAsync("www-data/prod/movable", 4);
        var host = before.GroupBy(AgentCluster.Host).OrderByDescending(g => g.Count()).First().Key!;

        var drain = await Cluster.AdminAsync("host_drain", "--hosts", host, "devcluster");
        Assert.True(drain.ExitCode == 0, drain.ToString());

        await Eventually.HoldsAsync($"{host} to be DRAINED with the job running elsewhere", async () =>
        {
            var hosts = (await Cluster.GetAsync($"api/maintenance?hosts={host}"))["hosts"]!.AsArray();
            var tasks = await Cluster.TasksAsync("www-data/prod/movable");
            return hosts.Single()!["mode"]!.GetValue<string>() == "DRAINED"
                && tasks.Count == 4 && tasks.All(t => AgentCluster.Status(t) == "RUNNING" && AgentCluster.Host(t) != host);
        });
        Assert.Empty(Cluster.ProcessesOf("www-data/prod/movable", host));

        Assert.Equal(0, (await Cluster.AdminAsync("host_activate", "--hosts", host, "devcluster")).ExitCode);
        await Cluster.KillJobAndCheckNoProcessesLeftAsync("www-data/prod/movable");
    }

    [Fact]
    public async Task An_sla_aware_drain_moves_a_jobs_tasks_off_one_at_a_time_and_ends_drained()
    {
        Assert.Equal(0, (await Cluster.AdminAsync("set_quota", "devcluster", "sla_team", "4", "1GB", "1GB")).ExitCode);
        var file = Cluster.JobFile("steady.json", Jobs.Service("sla_team", "steady", 4, "sleep 600", tier: "preferred"));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/sla_team/prod/steady", file)).ExitCode);
        var before = await Cluster.WaitForRunningAsync("sla_team/prod/steady", 4);
        var host = before.GroupBy(AgentCluster.Host).OrderByDescending(g => g.Count()).First().Key!;
        var leaving = before.Where(t => AgentCluster.Host(t) == host).Select(t => t["taskId"]!.GetValue<string>()).ToHashSet();

        // At least 3 of the 4 instances must have been RUNNING for 2 s: one task may leave at a time.
        var drain = await Cluster.AdminAsync("sla_host_drain", "devcluster", "--hosts", host, "--default_count=3", "--default_duration=2s", "--force_drain_timeout=10m");
        Assert.True(drain.ExitCode == 0, drain.ToString());

        await Eventually.HoldsAsync($"{host} to be DRAINED with the job running elsewhere", async () =>
        {
            var hosts = (await Cluster.GetAsync($"api/maintenance?hosts={host}"))["hosts"]!.AsArray();
            var tasks = await Cluster.TasksAsync("sla_team/prod/steady");
            return hosts.Single()!["mode"]!.GetValue<string>() == "DRAINED"
                && tasks.Count == 4 && tasks.All(t => AgentCluster.Status(t) == "RUNNING" && AgentCluster.Host(t) != host);
        }, TimeSpan.FromSeconds(90));

        var drainedAt = (await Cluster.TasksAsync("sla_team/prod/steady", activeOnly: false))
            .Where(t => leaving.Contains(t["taskId"]!.GetValue<string>()))
            .Select(t => DateTimeOffset.Parse(t["events"]!.AsArray().First(e => e!["status"]!.GetValue<string>() == "DRAINING")!["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture))
            .Order()
            .ToList();
        Assert.Equal(leaving.Count, drainedAt.Count);
        for (var i = 1; i < drainedAt.Count; i++)
        {
            Assert.True(drainedAt[i] - drainedAt[i - 1] >= TimeSpan.FromSeconds(2), $"tasks left {host} together: {string.Join(", ", drainedAt)}");
        }

        Assert.Equal(0, (await Cluster.AdminAsync("host_activate", "--hosts", host, "devcluster")).ExitCode);
    }

    private async Task<string> WaitForSingleRunningAsync(string job, TimeSpan timeout)
    {
        string? taskId = null;
        await Eventually.HoldsAsync($"a run of {job}", async () =>
        {
            var tasks = await Cluster.TasksAsync(job);
            taskId = tasks.Count == 1 && AgentCluster.Status(tasks[0]) == "RUNNING" ? tasks[0]["taskId"]!.GetValue<string>() : null;
            return taskId is not null;
        }, timeout);
        return taskId!;
    }
}
