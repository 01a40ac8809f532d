using System.Text.Json.Nodes;

namespace Aurora.Client.Tests.Commands;

public sealed class UpdateCommandTests : FakeSchedulerTests
{
    private const string Key = "test/www-data/prod/hello";
    private const string UpdatePath = "/api/updates/www-data/prod/hello/u-1";
    private static string Started(string id = "u-1") =>
        new JsonObject { ["key"] = Canned.Update(id, "ROLLING_FORWARD")["key"]!.DeepClone(), ["message"] = "started", ["position"] = 9 }.ToJsonString();

    [Fact]
    public async Task Start_builds_the_request_from_the_config_and_limits_it_to_the_given_instances()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/updates", Started());

        var result = await Cli.AuroraAsync("update", "start", $"{Key}/0-1,4", config, "-m", "canary");

        Assert.True(result.Exit == 0, result.ToString());
        var body = Assert.Single(Scheduler.To("POST", "/api/updates")).Json;
        Assert.Equal("canary", body["message"]!.GetValue<string>());
        var request = body["request"]!.AsObject();
        Assert.Equal(2, request["instanceCount"]!.GetValue<int>());
        Assert.Equal("hello", request["task"]!["job"]!["name"]!.GetValue<string>());
        var settings = request["settings"]!.AsObject();
        Assert.Equal("""[{"last":1},{"first":4,"last":4}]""", settings["updateOnlyTheseInstances"]!.ToJsonString());
        Assert.Equal("10000", settings["minWaitInInstanceRunningMs"]!.ToString());
        Assert.Contains("Update u-1 of test/www-data/prod/hello started: ", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("/scheduler/www-data/prod/hello/update/u-1", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_without_instances_updates_the_whole_job()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/updates", Started());

        var result = await Cli.AuroraAsync("update", "start", Key, config, "--json");

        Assert.True(result.Exit == 0, result.ToString());
        var settings = Assert.Single(Scheduler.To("POST", "/api/updates")).Json["request"]!["settings"]!.AsObject();
        Assert.False(settings.ContainsKey("updateOnlyTheseInstances"));
        Assert.Equal("u-1", result.Json["key"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Start_of_a_cron_job_is_refused()
    {
        var config = Cli.WriteFile("cron.json", Canned.CronJob);

        var result = await Cli.AuroraAsync("update", "start", "test/www-data/prod/cleanup", config);

        Assert.Equal(ExitCodes.InvalidCommand, result.Exit);
        Assert.Contains("use aurora cron schedule", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_and_wait_exits_0_when_the_update_rolls_forward()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/updates", Started())
            .On("GET", UpdatePath, Canned.Update("u-1", "ROLLING_FORWARD").ToJsonString())
            .On("GET", UpdatePath, Canned.Update("u-1", "JOB_UPDATE_STATUS_ROLLED_FORWARD").ToJsonString());

        var result = await Cli.AuroraAsync("update", "start", Key, config, "--wait");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(2, Scheduler.To("GET", UpdatePath).Count);
        Assert.Equal("Update u-1 of test/www-data/prod/hello: ROLLED_FORWARD\n", result.Stdout);
        Assert.Contains("update u-1 of test/www-data/prod/hello: ROLLING_FORWARD", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_and_wait_with_json_keeps_stdout_to_one_json_document()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);
        Scheduler.On("POST", "/api/updates", Started())
            .On("GET", UpdatePath, Canned.Update("u-1", "ROLLING_FORWARD").ToJsonString())
            .On("GET", UpdatePath, Canned.Update("u-1", "ABORTED").ToJsonString());

        var result = await Cli.AuroraAsync("update", "start", Key, config, "--wait", "--json");

        Assert.Equal(ExitCodes.CommandFailure, result.Exit);
        Assert.Equal("ABORTED", result.Json["status"]!.GetValue<string>());
        Assert.Contains("ROLLING_FORWARD", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("ended ABORTED, not ROLLED_FORWARD", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wait_exits_4_when_the_update_ends_otherwise()
    {
        var rolledBack = Canned.Update("u-1", "ROLLED_BACK");
        rolledBack["message"] = "Latest failure: instance 1 FAILED";
        Scheduler.On("GET", UpdatePath, rolledBack.ToJsonString());

        var result = await Cli.AuroraAsync("update", "wait", Key, "u-1");

        Assert.Equal(ExitCodes.CommandFailure, result.Exit);
        Assert.Contains("ended ROLLED_BACK, not ROLLED_FORWARD: Latest failure: instance 1 FAILED", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wait_without_an_id_follows_the_newest_update_when_none_is_active()
    {
        Scheduler.On("GET", "/api/updates", Canned.Updates(
                Canned.Update("u-old", "ROLLED_BACK", "2026-12-01T10:00:00.000Z"),
                Canned.Update("u-1", "ROLLED_FORWARD", "2026-12-02T10:00:00.000Z")))
            .On("GET", UpdatePath, Canned.Update("u-1", "ROLLED_FORWARD").ToJsonString());

        var result = await Cli.AuroraAsync("update", "wait", Key);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal("?role=www-data&environment=prod&name=hello", Assert.Single(Scheduler.To("GET", "/api/updates")).Query);
    }

    [Theory]
    [InlineData("pause", "/pause")]
    [InlineData("resume", "/resume")]
    [InlineData("abort", "/abort")]
    [InlineData("rollback", "/rollback")]
    public async Task Changes_without_an_id_go_to_the_job_active_update(string verb, string suffix)
    {
        Scheduler.On("GET", "/api/updates", Canned.Updates(
                Canned.Update("u-old", "ROLLED_FORWARD", "2026-12-01T10:00:00.000Z"),
                Canned.Update("u-1", "ROLL_FORWARD_PAUSED", "2026-12-02T10:00:00.000Z")))
            .On("POST", UpdatePath + suffix, Canned.Write());

        var result = await Cli.AuroraAsync("update", verb, Key, "-m", "because");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal("""{"message":"because"}""", Assert.Single(Scheduler.To("POST", UpdatePath + suffix)).Body);
        Assert.Contains("update u-1 of test/www-data/prod/hello", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_with_no_active_update_exits_6()
    {
        Scheduler.On("GET", "/api/updates", Canned.Updates(Canned.Update("u-old", "ROLLED_FORWARD")));

        var result = await Cli.AuroraAsync("update", "pause", Key);

        Assert.Equal(ExitCodes.InvalidParameter, result.Exit);
        Assert.Contains("has no active update", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_with_an_id_skips_the_lookup()
    {
        Scheduler.On("POST", "/api/updates/www-data/prod/hello/u-9/abort", Canned.Write());

        var result = await Cli.AuroraAsync("update", "abort", Key, "u-9");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Empty(Scheduler.To("GET", "/api/updates"));
        Assert.Equal("{\"message\":null}", Scheduler.To("POST", "/api/updates/www-data/prod/hello/u-9/abort")[0].Body);
    }

    [Fact]
    public async Task List_filters_by_status_groups_and_user()
    {
        Scheduler.On("GET", "/api/updates", Canned.Updates(Canned.Update("u-1", "ROLLING_FORWARD")));

        var json = await Cli.AuroraAsync("update", "list", "test/www-data", "--status=paused,ROLLED_BACK", "--user=alice", "--json");
        var table = await Cli.AuroraAsync("update", "list", "test");

        Assert.True(json.Exit == 0, json.ToString());
        var queries = Scheduler.To("GET", "/api/updates").Select(r => r.Query).ToList();
        Assert.Equal("?role=www-data&statuses=ROLLED_BACK%2CROLL_BACK_PAUSED%2CROLL_FORWARD_PAUSED&user=alice", queries[0]);
        Assert.Equal(string.Empty, queries[1]);
        Assert.Equal("u-1", json.Json["updates"]![0]!["key"]!["id"]!.GetValue<string>());
        Assert.Contains("test/www-data/prod/hello", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("ROLLING_FORWARD", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_refuses_an_unknown_status()
    {
        var result = await Cli.AuroraAsync("update", "list", "test", "--status=SIDEWAYS");

        Assert.Equal(ExitCodes.Usage, result.Exit);
        Assert.Contains("unknown update status 'SIDEWAYS'", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_shows_the_details_and_their_history()
    {
        var details = Canned.Update("u-1", "ROLLING_FORWARD");
        details["events"] = new JsonArray(new JsonObject { ["status"] = "ROLLING_FORWARD", ["time"] = "2026-12-02T20:15:00.000Z", ["user"] = "alice" });
        details["instanceEvents"] = new JsonArray(new JsonObject { ["instance"] = 0, ["action"] = "INSTANCE_UPDATING", ["time"] = "2026-12-02T20:15:01.000Z" });
        details["instructions"] = new JsonObject { ["desiredState"] = new JsonObject { ["instances"] = new JsonArray(new JsonObject { ["first"] = 0, ["last"] = 3 }) } };
        Scheduler.On("GET", UpdatePath, details.ToJsonString());

        var text = await Cli.AuroraAsync("update", "info", Key, "u-1");
        var json = await Cli.AuroraAsync("update", "info", Key, "u-1", "--json");

        Assert.True(text.Exit == 0, text.ToString());
        Assert.Contains("Status:", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Instances:", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("0-3", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("INSTANCE_UPDATING", text.Stdout, StringComparison.Ordinal);
        Assert.Equal("ROLLING_FORWARD", json.Json["status"]!.GetValue<string>());
    }
}
