using System.Globalization;
using System.Text.Json.Nodes;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Tests.Support;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>The HTTP API of docs/api.md against a real server on loopback.</summary>
public sealed class ApiContractTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    public async Task InitializeAsync() => _server = await ServerHarness.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_created_job_is_listed_with_pending_tasks_that_say_why()
    {
        var (status, body) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) });
        Assert.Equal(200, status);
        Assert.True(body!["position"]!.GetValue<ulong>() > 0);

        var (listed, jobs) = await _server.GetAsync("/api/jobs?role=www-data");
        Assert.Equal(200, listed);
        var job = Assert.Single(jobs!["jobs"]!.AsArray())!;
        Assert.Equal("hello", job["job"]!["name"]!.GetValue<string>());
        Assert.Equal(2, job["taskCounts"]!["PENDING"]!.GetValue<int>());

        var (_, detail) = await _server.GetAsync("/api/jobs/www-data/prod/hello");
        var tasks = detail!["tasks"]!.AsArray();
        Assert.Equal([0, 1], tasks.Select(t => t!["instance"]!.GetValue<int>()));
        Assert.All(tasks, t => Assert.Equal(Vetoes.NoAgents, t!["pendingReason"]!.GetValue<string>()));
        Assert.Equal(2, detail["config"]!["instanceCount"]!.GetValue<int>());

        var (_, pending) = await _server.GetAsync("/pendingtasks");
        var group = Assert.Single(pending!.AsArray())!;
        Assert.Equal(Vetoes.NoAgents, group["reason"]!.GetValue<string>());
        Assert.Equal(2, group["taskIds"]!.AsArray().Count);
    }

    [Fact]
    public async Task The_principal_is_the_claimed_user_without_authentication()
    {
        await _server.SendAsync(HttpMethod.Post, "/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) }, user: "bob");
        var principals = _server.Server.Runtime.Store.Log.Read(1).Select(e => e.Principal).ToList();
        Assert.Contains("bob", principals);
    }

    [Fact]
    public async Task Tasks_are_filtered_by_status_instance_and_job()
    {
        await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job(instances: 3)) });
        await _server.PostAsync("/api/jobs/www-data/prod/hello/kill", new JsonObject { ["instances"] = new JsonArray(1) });

        var (_, pending) = await _server.GetAsync("/api/tasks?role=www-data&environment=prod&name=hello&statuses=PENDING");
        Assert.Equal([0, 2], pending!["tasks"]!.AsArray().Select(t => t!["instance"]!.GetValue<int>()));
        var (_, active) = await _server.GetAsync("/api/tasks?role=www-data&active=true&instances=0,1,2");
        Assert.Equal([0, 2], active!["tasks"]!.AsArray().Select(t => t!["instance"]!.GetValue<int>()));

        var (bad, error) = await _server.GetAsync("/api/tasks?statuses=SLEEPING");
        Assert.Equal(400, bad);
        Assert.Equal("INVALID_REQUEST", error!["error"]!["code"]!.GetValue<string>());
        Assert.Contains("SLEEPING", error["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_requests_get_a_code_and_a_message_naming_the_problem()
    {
        var config = ServerHarness.Job();
        config.InstanceCount = 0;
        var (status, body) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(config) });
        Assert.Equal(400, status);
        Assert.Equal("INVALID_REQUEST", body!["error"]!["code"]!.GetValue<string>());

        (status, body) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = new JsonObject { ["instanceCnt"] = 1 } });
        Assert.Equal(400, status);
        Assert.Contains("instanceCnt", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, body) = await _server.PostAsync("/api/jobs", null);
        Assert.Equal(400, status);
        Assert.Contains("\"config\"", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, body) = await _server.GetAsync("/api/jobs/www-data/prod/bad%20name");
        Assert.Equal(400, status);

        (status, body) = await _server.GetAsync("/api/jobs/www-data/prod/missing");
        Assert.Equal(404, status);
        Assert.Equal("NOT_FOUND", body!["error"]!["code"]!.GetValue<string>());

        (status, body) = await _server.GetAsync("/api/jobs/www-data/prod/hello/kill");
        Assert.Equal(405, status);
        Assert.Equal("METHOD_NOT_ALLOWED", body!["error"]!["code"]!.GetValue<string>());

        (status, body) = await _server.GetAsync("/api/nothing-here");
        Assert.Equal(404, status);
        Assert.Equal("NOT_FOUND", body!["error"]!["code"]!.GetValue<string>());

        var cron = ServerHarness.Job(name: "nightly", cron: "0 * * * *");
        (status, body) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(cron) });
        Assert.Equal(400, status);
        Assert.Contains("cron", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_and_add_instances_change_the_tasks()
    {
        await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job(instances: 1)) });
        var (status, _) = await _server.PostAsync("/api/jobs/www-data/prod/hello/instances", new JsonObject { ["templateInstance"] = 0, ["count"] = 2 });
        Assert.Equal(200, status);
        var (_, job) = await _server.GetAsync("/api/jobs/www-data/prod/hello");
        Assert.Equal(3, job!["tasks"]!.AsArray().Count);

        (status, _) = await _server.PostAsync("/api/jobs/www-data/prod/hello/restart", new JsonObject { ["instances"] = new JsonArray(0, 9) });
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Quotas_are_set_by_admins_and_read_by_anyone()
    {
        var (status, body) = await _server.SendAsync(HttpMethod.Put, "/api/quotas/www-data", new JsonObject { ["numCpus"] = 4, ["ramMb"] = 4096, ["diskMb"] = 8192 });
        Assert.Equal(200, status);
        Assert.Equal(4096, body!["quota"]!["ramMb"]!.GetValue<long>());

        var config = ServerHarness.Job();
        config.Task.Tier = "preferred";
        await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(config) });
        var (_, quota) = await _server.GetAsync("/api/quotas/www-data");
        Assert.Equal(1.0, quota!["prodSharedConsumption"]!["numCpus"]!.GetValue<double>());

        var (_, quotas) = await _server.GetAsync("/quotas");
        Assert.Equal(4096, quotas!["www-data"]!["ram_mb"]!.GetValue<long>());
    }

    [Fact]
    public async Task Updates_are_started_listed_paused_resumed_and_aborted()
    {
        await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) });
        var task = ServerHarness.Job().Task;
        task.Resources.RamMb = 128;
        var request = new JobUpdateRequest
        {
            Task = task,
            InstanceCount = 2,
            Settings = new JobUpdateSettings { Strategy = new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = 1 } } },
        };
        var (status, started) = await _server.PostAsync("/api/updates", new JsonObject { ["request"] = ServerHarness.Proto(request), ["message"] = "bigger" });
        Assert.Equal(200, status);
        var id = started!["key"]!["id"]!.GetValue<string>();

        var (again, conflict) = await _server.PostAsync("/api/updates", new JsonObject { ["request"] = ServerHarness.Proto(request) });
        Assert.Equal(400, again);
        Assert.Contains("active update", conflict!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        foreach (var (verb, expected) in new[] { ("pause", "ROLL_FORWARD_PAUSED"), ("resume", "ROLLING_FORWARD"), ("abort", "ABORTED") })
        {
            var (changed, answer) = await _server.PostAsync($"/api/updates/www-data/prod/hello/{id}/{verb}", new JsonObject { ["message"] = verb });
            Assert.Equal(200, changed);
            Assert.Equal(expected, answer!["update"]!["status"]!.GetValue<string>());
        }

        var (_, list) = await _server.GetAsync("/api/updates?role=www-data&statuses=ABORTED");
        Assert.Equal(id, Assert.Single(list!["updates"]!.AsArray())!["key"]!["id"]!.GetValue<string>());
        var (_, details) = await _server.GetAsync($"/api/updates/www-data/prod/hello/{id}");
        Assert.Equal(["ROLLING_FORWARD", "ROLL_FORWARD_PAUSED", "ROLLING_FORWARD", "ABORTED"], details!["events"]!.AsArray().Select(e => e!["status"]!.GetValue<string>()));
        var (missing, _) = await _server.GetAsync("/api/updates/www-data/prod/hello/nope");
        Assert.Equal(404, missing);
    }

    [Fact]
    public async Task Cron_jobs_are_scheduled_shown_started_and_descheduled()
    {
        var cron = ServerHarness.Job(name: "nightly", instances: 1, cron: "0 3 * * *");
        var (status, _) = await _server.SendAsync(HttpMethod.Put, "/api/cron/www-data/prod/nightly", new JsonObject { ["config"] = ServerHarness.Proto(cron) });
        Assert.Equal(200, status);

        var (_, shown) = await _server.GetAsync("/api/cron/www-data/prod/nightly");
        Assert.Equal("0 3 * * *", shown!["cronSchedule"]!.GetValue<string>());
        Assert.EndsWith("T03:00:00.000Z", shown["nextRun"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, _) = await _server.PostAsync("/api/cron/www-data/prod/nightly/start");
        Assert.Equal(200, status);
        var (_, tasks) = await _server.GetAsync("/api/tasks?role=www-data&name=nightly");
        Assert.Single(tasks!["tasks"]!.AsArray());

        (status, _) = await _server.SendAsync(HttpMethod.Delete, "/api/cron/www-data/prod/nightly");
        Assert.Equal(200, status);
        (status, _) = await _server.GetAsync("/api/cron/www-data/prod/nightly");
        Assert.Equal(404, status);

        var other = ServerHarness.Job(name: "other", cron: "0 3 * * *");
        var (mismatch, error) = await _server.SendAsync(HttpMethod.Put, "/api/cron/www-data/prod/nightly", new JsonObject { ["config"] = ServerHarness.Proto(other) });
        Assert.Equal(400, mismatch);
        Assert.Contains("www-data/prod/other", error!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hosts_go_through_maintenance()
    {
        var (status, body) = await _server.PostAsync("/api/maintenance/deactivate", new JsonObject { ["hosts"] = new JsonArray("a.example", "b.example") });
        Assert.Equal(200, status);
        Assert.All(body!["hosts"]!.AsArray(), h => Assert.Equal("SCHEDULED", h!["mode"]!.GetValue<string>()));

        (status, body) = await _server.PostAsync("/api/maintenance/drain", new JsonObject { ["hosts"] = new JsonArray("a.example") });
        Assert.Equal(200, status);
        Assert.Equal("DRAINED", body!["hosts"]![0]!["mode"]!.GetValue<string>());

        var (_, view) = await _server.GetAsync("/maintenance");
        Assert.Equal(["a.example"], view!["DRAINED"]!.AsArray().Select(h => h!.GetValue<string>()));
        Assert.Equal(["b.example"], view["SCHEDULED"]!.AsArray().Select(h => h!.GetValue<string>()));

        (status, _) = await _server.PostAsync("/api/maintenance/activate", new JsonObject { ["hosts"] = new JsonArray("a.example", "b.example") });
        Assert.Equal(200, status);
        var (_, statusView) = await _server.GetAsync("/api/maintenance?hosts=a.example");
        Assert.Equal("NONE", statusView!["hosts"]![0]!["mode"]!.GetValue<string>());

        (status, _) = await _server.PostAsync("/api/maintenance/drain", new JsonObject());
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Health_vars_and_metrics_describe_the_replica()
    {
        await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) });

        var (health, text) = await _server.GetAsync("/health");
        Assert.Equal(200, health);
        Assert.Equal("OK\n", text!.GetValue<string>());
        Assert.Equal(200, (await _server.GetAsync("/leaderhealth")).Status);

        var (_, vars) = await _server.GetAsync("/vars");
        var lines = vars!.GetValue<string>().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l.Split(' ')[0], l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
        Assert.Equal("test", lines["flag_cluster_name"]);
        Assert.Equal("1hrs", lines["flag_dlog_snapshot_interval"]);
        Assert.Equal("2", lines["task_store_PENDING"]);
        Assert.Equal("1", lines["scheduler_lifecycle_is_leader"]);
        Assert.Equal(lines["log_position_appended"], lines["log_position_applied"]);
        Assert.Equal("1", lines["log_append_latency_count"]);

        // The write pipeline's stages: every proposal that committed was applied, and each carried at least one command.
        var proposals = long.Parse(lines["write_commit_latency_count"], CultureInfo.InvariantCulture);
        Assert.InRange(proposals, 1, long.MaxValue);
        Assert.Equal(lines["write_commit_latency_count"], lines["write_apply_latency_count"]);
        Assert.InRange(long.Parse(lines["write_decide_latency_count"], CultureInfo.InvariantCulture), proposals, long.MaxValue);

        var (_, json) = await _server.GetAsync("/vars.json");
        Assert.Equal(2, json!["task_store_PENDING"]!.GetValue<double>());
        Assert.Equal("test", json["flag_cluster_name"]!.GetValue<string>());

        var (_, metrics) = await _server.GetAsync("/metrics");
        var prometheus = metrics!.GetValue<string>();
        Assert.Contains("aurora_task_store_PENDING 2\n", prometheus, StringComparison.Ordinal);
        Assert.Contains("aurora_log_append_latency_seconds_count 1\n", prometheus, StringComparison.Ordinal);
        Assert.Contains("aurora_log_append_latency_seconds_bucket{le=\"+Inf\"} 1\n", prometheus, StringComparison.Ordinal);
        Assert.Contains("# TYPE aurora_write_commit_latency_seconds histogram\n", prometheus, StringComparison.Ordinal);
        Assert.Contains("aurora_write_apply_latency_seconds_count ", prometheus, StringComparison.Ordinal);

        var (_, state) = await _server.GetAsync("/state");
        Assert.Equal(64, state!["stateHash"]!.GetValue<string>().Length);
        Assert.Equal(2, state["tasksByStatus"]!["PENDING"]!.GetValue<int>());
        Assert.Empty((await _server.GetAsync("/offers")).Body!.AsArray());

        var (_, scheduler) = await _server.GetAsync("/api/scheduler");
        Assert.True(scheduler!["leading"]!.GetValue<bool>());
        Assert.Equal("VOTING", scheduler["replica"]!["status"]!.GetValue<string>());
    }
}
