using System.Text.Json.Nodes;

namespace Aurora.Client.Tests.Commands;

public sealed class JobCommandTests : FakeSchedulerTests
{
    private const string Key = "test/www-data/prod/hello";
    [Fact]
    public async Task Create_posts_the_job_in_protobuf_json_as_the_local_user()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/jobs", Canned.Write("created"));

        var result = await Cli.AuroraAsync("job", "create", Key, config);

        Assert.True(result.Exit == 0, result.ToString());
        var request = Assert.Single(Scheduler.To("POST", "/api/jobs"));
        Assert.Equal(CliHarness.User, request.Header("X-Aurora-User"));
        Assert.Null(request.Header("Authorization"));
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
        var sent = request.Json["config"]!.AsObject();
        Assert.Equal("www-data", sent["key"]!["role"]!.GetValue<string>());
        Assert.Equal("hello", sent["key"]!["name"]!.GetValue<string>());
        Assert.Equal(2, sent["instanceCount"]!.GetValue<int>());
        Assert.True(sent["task"]!["isService"]!.GetValue<bool>());
        Assert.Contains($"Job {Key} created: {Scheduler.Uri.ToString().TrimEnd('/')}/scheduler/www-data/prod/hello", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_refuses_a_cron_job_without_asking_the_scheduler()
    {
        var config = Cli.WriteFile("cron.json", Canned.CronJob);

        var result = await Cli.AuroraAsync("job", "create", "test/www-data/prod/cleanup", config);

        Assert.Equal(ExitCodes.InvalidCommand, result.Exit);
        Assert.Contains("use aurora cron schedule", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.Requests);
    }

    [Fact]
    public async Task Create_with_a_bad_config_file_exits_3_with_the_loader_message()
    {
        var missing = Path.Combine(Cli.Home, "nope.json");
        var wrongJob = Cli.WriteFile("hello.json", Canned.HelloJob);

        var noFile = await Cli.AuroraAsync("job", "create", Key, missing);
        var noJob = await Cli.AuroraAsync("job", "create", "test/www-data/prod/other", wrongJob);

        Assert.Equal(ExitCodes.InvalidConfiguration, noFile.Exit);
        Assert.Contains($"error: {missing}: no such file", noFile.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.InvalidConfiguration, noJob.Exit);
        Assert.Contains("no job test/www-data/prod/other in this file; it has test/www-data/prod/hello", noJob.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.Requests);
    }

    [Fact]
    public async Task Create_waits_until_every_instance_runs_showing_progress_on_stderr_only()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/jobs", Canned.Write())
            .On("GET", "/api/tasks", Canned.Tasks(Canned.Task(0, "PENDING"), Canned.Task(1, "PENDING")))
            .On("GET", "/api/tasks", Canned.Tasks(Canned.Task(0, "RUNNING", "agent1"), Canned.Task(1, "STARTING", "agent2")))
            .On("GET", "/api/tasks", Canned.Tasks(Canned.Task(0, "RUNNING", "agent1"), Canned.Task(1, "RUNNING", "agent2")));

        var result = await Cli.AuroraAsync("job", "create", Key, config, "--wait-until=RUNNING");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(3, Scheduler.To("GET", "/api/tasks").Count);
        Assert.Equal("?role=www-data&environment=prod&name=hello", Scheduler.To("GET", "/api/tasks")[0].Query);
        Assert.Contains("0/2 instance(s) there; 2 PENDING", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("2/2 instance(s) there", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("waiting", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("every instance is RUNNING", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_waiting_for_finished_fails_when_an_instance_ends_otherwise()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/jobs", Canned.Write())
            .On("GET", "/api/tasks", Canned.Tasks(Canned.Task(0, "FINISHED"), Canned.Task(1, "FAILED")));

        var result = await Cli.AuroraAsync("job", "create", Key, config, "--wait-until", "finished");

        Assert.Equal(ExitCodes.CommandFailure, result.Exit);
        Assert.Contains("instance(s) ended without reaching FINISHED: 1 FAILED", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_refuses_an_unknown_wait_state()
    {
        var result = await Cli.AuroraAsync("job", "create", Key, "x.json", "--wait-until=DONE");

        Assert.Equal(ExitCodes.Usage, result.Exit);
        Assert.Contains("--wait-until must be PENDING, RUNNING or FINISHED, got 'DONE'", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kill_sends_the_instances_and_the_message()
    {
        Scheduler.On("POST", "/api/jobs/www-data/prod/hello/kill", Canned.Write("Killed 3 tasks"));

        var result = await Cli.AuroraAsync("job", "kill", $"{Key}/0-1,3", "-m", "bad host");

        Assert.True(result.Exit == 0, result.ToString());
        var body = Assert.Single(Scheduler.To("POST", "/api/jobs/www-data/prod/hello/kill")).Json;
        Assert.Equal("[0,1,3]", body["instances"]!.ToJsonString());
        Assert.Equal("bad host", body["message"]!.GetValue<string>());
        Assert.Contains("Killed 3 tasks", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kill_without_instances_points_to_killall()
    {
        var result = await Cli.AuroraAsync("job", "kill", Key);

        Assert.Equal(ExitCodes.Usage, result.Exit);
        Assert.Contains("use aurora job killall", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.Requests);
    }

    [Fact]
    public async Task Killall_kills_every_instance()
    {
        Scheduler.On("POST", "/api/jobs/www-data/prod/hello/kill", Canned.Write());

        var result = await Cli.AuroraAsync("job", "killall", Key);

        Assert.True(result.Exit == 0, result.ToString());
        var body = Assert.Single(Scheduler.To("POST", "/api/jobs/www-data/prod/hello/kill")).Json;
        Assert.True(body.ContainsKey("instances"));
        Assert.Null(body["instances"]);
    }

    [Fact]
    public async Task Add_copies_one_instance()
    {
        Scheduler.On("POST", "/api/jobs/www-data/prod/hello/instances", Canned.Write());

        var result = await Cli.AuroraAsync("job", "add", $"{Key}/1", "3");
        var noInstance = await Cli.AuroraAsync("job", "add", Key, "3");
        var badCount = await Cli.AuroraAsync("job", "add", $"{Key}/1", "0");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal("""{"templateInstance":1,"count":3}""", Assert.Single(Scheduler.To("POST", "/api/jobs/www-data/prod/hello/instances")).Body);
        Assert.Equal(ExitCodes.Usage, noInstance.Exit);
        Assert.Contains("needs exactly one instance", noInstance.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, badCount.Exit);
    }

    [Fact]
    public async Task Status_json_of_one_job_has_its_tasks_with_instance_id_status_and_host()
    {
        var pending = Canned.Task(1, "PENDING");
        pending.Remove("host");
        Scheduler.On("GET", "/api/tasks", Canned.Tasks(
            pending,
            Canned.Task(0, "RUNNING", "agent1", "t-0-new", statusTime: "2026-12-02T20:16:00.000Z"),
            Canned.Task(0, "FAILED", "agent2", "t-0-old", statusTime: "2026-12-02T20:10:00.000Z")));

        var result = await Cli.AuroraAsync("job", "status", Key, "--json");

        Assert.True(result.Exit == 0, result.ToString());
        var json = result.Json.AsObject();
        Assert.Equal(Key, json["key"]!.GetValue<string>());
        Assert.Equal("hello", json["job"]!["name"]!.GetValue<string>());
        var tasks = json["tasks"]!.AsArray().Select(t => t!.AsObject()).ToList();
        Assert.Equal(["t-0-new", "t-0-old", "www-data-prod-hello-1-pending"], tasks.Select(t => t["taskId"]!.GetValue<string>()));
        Assert.Equal(["RUNNING", "FAILED", "PENDING"], tasks.Select(t => t["status"]!.GetValue<string>()));
        Assert.Equal("agent1", tasks[0]["host"]!.GetValue<string>());
        Assert.True(tasks[2].ContainsKey("host"));
        Assert.Equal(1, tasks[2]["instance"]!.GetValue<int>());
    }

    [Fact]
    public async Task Status_of_a_job_that_does_not_exist_exits_6()
    {
        Scheduler.On("GET", "/api/tasks", Canned.Tasks())
            .OnError("GET", "/api/jobs/www-data/prod/hello", 404, "NOT_FOUND", "No job www-data/prod/hello.");

        var result = await Cli.AuroraAsync("job", "status", Key);

        Assert.Equal(ExitCodes.InvalidParameter, result.Exit);
        Assert.Equal("error: NOT_FOUND: No job www-data/prod/hello.\n", result.Stderr);
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Fact]
    public async Task Status_of_a_job_without_tasks_shows_it_empty()
    {
        Scheduler.On("GET", "/api/tasks", Canned.Tasks(Canned.Task(0, "RUNNING", name: "other")))
            .On("GET", "/api/jobs/www-data/prod/hello", """{"job": {"role": "www-data", "environment": "prod", "name": "hello"}, "cron": true, "tasks": []}""");

        var result = await Cli.AuroraAsync("job", "status", Key, "--json");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Empty(result.Json["tasks"]!.AsArray());
        Assert.Single(Scheduler.To("GET", "/api/jobs/www-data/prod/hello"));
    }

    [Fact]
    public async Task Status_of_a_role_shows_each_job_including_jobs_without_tasks()
    {
        Scheduler.On("GET", "/api/tasks", Canned.Tasks(Canned.Task(0, "RUNNING", "agent1")))
            .On("GET", "/api/jobs", """{"jobs": [{"job": {"role": "www-data", "environment": "prod", "name": "nightly"}, "cron": true}]}""");

        var result = await Cli.AuroraAsync("job", "status", "test/www-data", "--json");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal("?role=www-data", Scheduler.To("GET", "/api/tasks")[0].Query);
        var jobs = result.Json["jobs"]!.AsArray();
        Assert.Equal(["test/www-data/prod/hello", "test/www-data/prod/nightly"], jobs.Select(j => j!["key"]!.GetValue<string>()));
        Assert.Empty(jobs[1]!["tasks"]!.AsArray());

        var text = await Cli.AuroraAsync("job", "status", "test/www-data");
        Assert.Contains("Job test/www-data/prod/hello: 1 active task(s), 0 ended", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("agent1", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Job test/www-data/prod/nightly: 0 active task(s)", text.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_prints_job_keys_with_their_cluster()
    {
        Scheduler.On("GET", "/api/jobs", """
            {"jobs": [
              {"job": {"role": "www-data", "environment": "prod", "name": "web"}, "service": true, "instanceCount": 3, "tier": "preferred", "taskCounts": {"RUNNING": 3}},
              {"job": {"role": "www-data", "environment": "prod", "name": "batch"}, "service": false, "instanceCount": 1}
            ]}
            """);

        var json = await Cli.AuroraAsync("job", "list", "test/www-data/prod", "--json");
        var table = await Cli.AuroraAsync("job", "list", "test/www-data/prod");

        Assert.Equal("?role=www-data&environment=prod", Scheduler.To("GET", "/api/jobs")[0].Query);
        Assert.Equal(["test/www-data/prod/batch", "test/www-data/prod/web"], json.Json["jobs"]!.AsArray().Select(j => j!["key"]!.GetValue<string>()));
        Assert.Contains("test/www-data/prod/web", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("RUNNING 3", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("adhoc", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_exits_0_when_the_scheduler_runs_the_same_config_and_1_with_a_diff_otherwise()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/jobs", Canned.Write());
        await Cli.AuroraAsync("job", "create", Key, config);
        var sent = Scheduler.To("POST", "/api/jobs")[0].Json["config"]!;
        var changed = sent.DeepClone();
        changed["instanceCount"] = 5;
        changed["someFieldTheClientDoesNotKnow"] = true;
        Scheduler.On("GET", "/api/jobs/www-data/prod/hello", new JsonObject { ["config"] = sent.DeepClone() }.ToJsonString())
            .On("GET", "/api/jobs/www-data/prod/hello", new JsonObject { ["config"] = changed }.ToJsonString());

        var same = await Cli.AuroraAsync("job", "diff", Key, config);
        var different = await Cli.AuroraAsync("job", "diff", Key, config);

        Assert.True(same.Exit == 0, same.ToString());
        Assert.Equal(string.Empty, same.Stdout);
        Assert.Equal(ExitCodes.Different, different.Exit);
        Assert.Contains($"--- scheduler {Key}\n+++ local {config}\n", different.Stdout, StringComparison.Ordinal);
        Assert.Contains("-  \"instanceCount\": 5,\n+  \"instanceCount\": 2,\n", different.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_fills_in_the_tier_production_and_links_the_scheduler_adds()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/jobs", Canned.Write());
        await Cli.AuroraAsync("job", "create", Key, config);
        var stored = Scheduler.To("POST", "/api/jobs")[0].Json["config"]!.DeepClone();
        stored["task"]!["tier"] = "preferred";
        stored["task"]!["production"] = true;
        Scheduler.On("GET", "/api/jobs/www-data/prod/hello", new JsonObject { ["config"] = stored }.ToJsonString());

        var result = await Cli.AuroraAsync("job", "diff", Key, config);

        Assert.True(result.Exit == 0, result.ToString());
        var explicitTier = Cli.WriteFile("revocable.json", Canned.HelloJob.Replace("\"service\": true,", "\"service\": true, \"tier\": \"revocable\",", StringComparison.Ordinal));
        var changed = await Cli.AuroraAsync("job", "diff", Key, explicitTier);
        Assert.Equal(ExitCodes.Different, changed.Exit);
        Assert.Contains("-    \"tier\": \"preferred\"", changed.Stdout, StringComparison.Ordinal);
        Assert.Contains("+    \"tier\": \"revocable\"", changed.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_prints_the_job_without_asking_the_scheduler()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);

        var text = await Cli.AuroraAsync("job", "inspect", Key, config);
        var json = await Cli.AuroraAsync("job", "inspect", Key, config, "--json");
        var raw = await Cli.AuroraAsync("job", "inspect", Key, config, "--raw");

        Assert.True(text.Exit == 0, text.ToString());
        Assert.Contains("instances: 2", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("hello (max failures 1): echo hello; sleep 3600", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("resources per instance: 0.5 CPU, 64MB RAM, 128MB disk", text.Stdout, StringComparison.Ordinal);
        Assert.Equal("test", json.Json["cluster"]!.GetValue<string>());
        Assert.Equal(2, json.Json["config"]!["instanceCount"]!.GetValue<int>());
        Assert.Equal("10000", json.Json["updateSettings"]!["minWaitInInstanceRunningMs"]!.ToString());
        Assert.Equal("hello", raw.Json["jobs"]![0]!["name"]!.GetValue<string>());
        Assert.Empty(Scheduler.Requests);
    }
}
