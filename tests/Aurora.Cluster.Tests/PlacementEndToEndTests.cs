using System.Text.Json.Nodes;

namespace Aurora.Cluster.Tests;

/// <summary>Placement with constraints, dedicated hosts, quota and failure reasons, from the CLI down to real processes.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PlacementEndToEndTests(ClusterFixture fixture) : IAsyncLifetime
{
    private AgentCluster Cluster => fixture.Cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Cluster.KillEverythingAsync();

    [Fact]
    public async Task Six_instances_with_a_rack_limit_of_two_run_two_per_rack_as_real_processes()
    {
        var file = Cluster.JobFile("spread.json", Jobs.Service("www-data", "spread", 6, "echo hello from {{mesos.instance}}; sleep 600", new JsonObject { ["rack"] = "limit:2" }));

        var create = await Cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/spread", file, "--wait-until=RUNNING");

        Assert.True(create.ExitCode == 0, create.ToString());
        var tasks = await Cluster.WaitForRunningAsync("www-data/prod/spread", 6);
        var perHost = tasks.GroupBy(AgentCluster.Host).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(ClusterFixture.RackHosts.Order(), perHost.Keys.Order());
        Assert.All(perHost.Values, count => Assert.Equal(2, count));

        // The processes are real: each instance's stdout in its sandbox says which instance it is.
        foreach (var task in tasks)
        {
            var sandbox = Path.Combine(Cluster.WorkDir(AgentCluster.Host(task)!), "sandboxes", task["taskId"]!.GetValue<string>(), "sandbox");
            var stdout = Path.Combine(sandbox, ".logs", "spread", "0", "stdout");
            await Eventually.HoldsAsync($"stdout of {task["taskId"]}", () => File.Exists(stdout) && File.ReadAllText(stdout).Contains($"hello from {task["instance"]}", StringComparison.Ordinal));
        }

        // A seventh instance has nowhere to go, and says why.
        var add = await Cluster.AuroraAsync("job", "add", "devcluster/www-data/prod/spread/0", "1");
        Assert.True(add.ExitCode == 0, add.ToString());
        await Eventually.HoldsAsync("the 7th instance's pending reason", async () =>
            (await Cluster.TasksAsync("www-data/prod/spread")).Any(t => AgentCluster.Status(t) == "PENDING" && t["pendingReason"]?.GetValue<string>().Contains("Limit not satisfied: rack", StringComparison.Ordinal) == true));

        await Cluster.KillJobAndCheckNoProcessesLeftAsync("www-data/prod/spread");
    }

    [Fact]
    public async Task A_dedicated_host_runs_its_roles_job_and_turns_others_away_with_the_reason()
    {
        var redis = Cluster.JobFile("redis.json", Jobs.Service("db_team", "redis", 1, "sleep 600", new JsonObject { ["dedicated"] = "db_team/redis" }));
        var create = await Cluster.AuroraAsync("job", "create", "devcluster/db_team/prod/redis", redis);
        Assert.True(create.ExitCode == 0, create.ToString());
        var tasks = await Cluster.WaitForRunningAsync("db_team/prod/redis", 1);
        Assert.Equal(ClusterFixture.DedicatedHost, AgentCluster.Host(tasks[0]));

        // Another role may not ask for the dedicated hosts at all...
        var intruder = Cluster.JobFile("intruder.json", Jobs.Service("www-data", "intruder", 1, "sleep 600", new JsonObject { ["dedicated"] = "db_team/redis" }));
        var refused = await Cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/intruder", intruder);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("Only db_team may use hosts dedicated for that role.", refused.Out + refused.Err, StringComparison.Ordinal);

        // ...and a job pinned to the dedicated host without being dedicated waits there, saying why.
        var pinned = Cluster.JobFile("pinned.json", Jobs.Service("www-data", "pinned", 1, "sleep 600", new JsonObject { ["host"] = ClusterFixture.DedicatedHost }));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/pinned", pinned)).ExitCode);
        await Eventually.HoldsAsync("the pinned job's pending reason", async () =>
            (await Cluster.TasksAsync("www-data/prod/pinned")).SingleOrDefault()?["pendingReason"]?.GetValue<string>().Contains("Host is dedicated", StringComparison.Ordinal) == true);
        var status = await Cluster.AuroraAsync("job", "status", "devcluster/www-data/prod/pinned");
        Assert.Contains("Host is dedicated", status.Out, StringComparison.Ordinal);

        await Cluster.KillJobAndCheckNoProcessesLeftAsync("www-data/prod/pinned");
        await Cluster.KillJobAndCheckNoProcessesLeftAsync("db_team/prod/redis");
    }

    [Fact]
    public async Task A_production_job_beyond_its_roles_quota_is_refused_with_auroras_message()
    {
        Assert.Equal(0, (await Cluster.AdminAsync("set_quota", "devcluster", "quota_team", "1", "64MB", "64MB")).ExitCode);
        var big = Cluster.JobFile("big.json", Jobs.Service("quota_team", "big", 4, "sleep 600", tier: "preferred", cpu: 0.5, ram: "32MB"));

        var create = await Cluster.AuroraAsync("job", "create", "devcluster/quota_team/prod/big", big);

        Assert.NotEqual(0, create.ExitCode);
        Assert.Contains("Insufficient resource quota", create.Out + create.Err, StringComparison.Ordinal);
        Assert.Empty(await Cluster.TasksAsync("quota_team/prod/big"));
    }

    [Fact]
    public async Task A_task_whose_command_does_not_exist_fails_with_the_reason_in_job_status()
    {
        var file = Cluster.JobFile("broken.json", Jobs.Batch("www-data", "broken", "no-such-command-aurora-test --flag"));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/broken", file)).ExitCode);

        await Eventually.HoldsAsync("the broken task to fail", async () =>
            (await Cluster.TasksAsync("www-data/prod/broken", activeOnly: false)).Any(t => AgentCluster.Status(t) == "FAILED"));
        var status = await Cluster.AuroraAsync("job", "status", "devcluster/www-data/prod/broken");

        Assert.Contains("FAILED", status.Out, StringComparison.Ordinal);
        Assert.Contains("no-such-command-aurora-test: command not found", status.Out, StringComparison.Ordinal);
        await Cluster.KillJobAndCheckNoProcessesLeftAsync("www-data/prod/broken");
    }

    [Fact]
    public async Task A_production_task_that_fits_nowhere_preempts_a_preemptible_one()
    {
        // Six 2-CPU preemptible tasks fill the three 4-CPU rack agents (the dedicated one takes none).
        var filler = Cluster.JobFile("filler.json", Jobs.Service("batch_team", "filler", 6, "sleep 600", cpu: 2));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/batch_team/prod/filler", filler)).ExitCode);
        var before = await Cluster.WaitForRunningAsync("batch_team/prod/filler", 6);

        Assert.Equal(0, (await Cluster.AdminAsync("set_quota", "devcluster", "web_team", "4", "1GB", "1GB")).ExitCode);
        var important = Cluster.JobFile("important.json", Jobs.Service("web_team", "important", 1, "sleep 600", tier: "preferred", cpu: 2));
        Assert.Equal(0, (await Cluster.AuroraAsync("job", "create", "devcluster/web_team/prod/important", important)).ExitCode);

        var running = await Cluster.WaitForRunningAsync("web_team/prod/important", 1);
        var fillerTasks = await Cluster.TasksAsync("batch_team/prod/filler", activeOnly: false);
        var preempted = Assert.Single(fillerTasks, t => t["events"]!.AsArray().Any(e => e!["status"]!.GetValue<string>() == "PREEMPTING"));
        Assert.Equal(AgentCluster.Host(running[0]), AgentCluster.Host(preempted));
        Assert.Contains(before, t => t["taskId"]!.GetValue<string>() == preempted["taskId"]!.GetValue<string>());

        await Cluster.KillJobAndCheckNoProcessesLeftAsync("web_team/prod/important");
        await Cluster.KillJobAndCheckNoProcessesLeftAsync("batch_team/prod/filler");
    }
}
