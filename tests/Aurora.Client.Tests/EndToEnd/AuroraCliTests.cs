namespace Aurora.Client.Tests.EndToEnd;

/// <summary>`aurora` from dist/bin against a real `aurora-scheduler -dev`: every verb, and the bad inputs users make.</summary>
public sealed class AuroraCliTests(DevCluster cluster) : IClassFixture<DevCluster>
{
    private static string Job(string name, int instances = 2, string ram = "32MB", string extra = "") => """
        {"jobs": [{"cluster": "devcluster", "role": "www-data", "environment": "prod", "name": "@NAME",
          "instances": @INSTANCES, "service": true@EXTRA,
          "task": {"name": "@NAME", "processes": [{"name": "main", "cmdline": "echo hi; sleep 60"}],
                   "resources": {"cpu": 0.1, "ram": "@RAM", "disk": "32MB"}}}]}
        """.Replace("@NAME", name, StringComparison.Ordinal).Replace("@INSTANCES", instances.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("@EXTRA", extra, StringComparison.Ordinal).Replace("@RAM", ram, StringComparison.Ordinal);

    [Fact]
    public async Task Job_create_status_list_kill_add_and_killall()
    {
        var file = cluster.JobFile("hello.json", Job("hello"));
        var created = await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/hello", file);
        Assert.True(created.ExitCode == 0, created.ToString());

        var status = await cluster.AuroraAsync("job", "status", "devcluster/www-data/prod/hello", "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        var tasks = status.Json["tasks"]!.AsArray();
        Assert.Equal([0, 1], tasks.Select(t => t!["instance"]!.GetValue<int>()).Order());
        Assert.All(tasks, t =>
        {
            Assert.Equal("PENDING", t!["status"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(t["taskId"]!.GetValue<string>()));
            Assert.True(t.AsObject().ContainsKey("host"));
        });

        var table = await cluster.AuroraAsync("job", "status", "devcluster/www-data/prod/hello");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("PENDING", table.Out, StringComparison.Ordinal);

        var list = await cluster.AuroraAsync("job", "list", "devcluster/www-data");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("hello", list.Out, StringComparison.Ordinal);

        Assert.Equal(0, (await cluster.AuroraAsync("job", "add", "devcluster/www-data/prod/hello/0", "1")).ExitCode);
        Assert.Equal(0, (await cluster.AuroraAsync("job", "kill", "devcluster/www-data/prod/hello/0")).ExitCode);
        var afterKill = await cluster.AuroraAsync("job", "status", "devcluster/www-data/prod/hello", "--json");
        Assert.Equal([1, 2], afterKill.Json["tasks"]!.AsArray().Where(t => t!["status"]!.GetValue<string>() == "PENDING").Select(t => t!["instance"]!.GetValue<int>()).Order());

        Assert.Equal(0, (await cluster.AuroraAsync("job", "killall", "devcluster/www-data/prod/hello")).ExitCode);

        // Killed PENDING tasks are deleted, as in Aurora, so nothing of the job is left.
        var afterKillAll = await cluster.AuroraAsync("job", "status", "devcluster/www-data/prod/hello", "--json");
        Assert.True(afterKillAll.ExitCode == 6, afterKillAll.ToString());
        Assert.Contains("No job www-data/prod/hello", afterKillAll.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Job_diff_and_inspect_compare_the_file_with_the_scheduler()
    {
        var file = cluster.JobFile("diffed.json", Job("diffed", instances: 1));
        Assert.Equal(0, (await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/diffed", file)).ExitCode);

        var same = await cluster.AuroraAsync("job", "diff", "devcluster/www-data/prod/diffed", file);
        Assert.True(same.ExitCode == 0, same.ToString());
        var changed = cluster.JobFile("diffed2.json", Job("diffed", instances: 1, ram: "64MB"));
        var different = await cluster.AuroraAsync("job", "diff", "devcluster/www-data/prod/diffed", changed);
        Assert.True(different.ExitCode == 1, different.ToString());
        Assert.Contains("64", different.Out, StringComparison.Ordinal);

        var inspect = await cluster.AuroraAsync("job", "inspect", "devcluster/www-data/prod/diffed", file);
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.Contains("echo hi; sleep 60", inspect.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Updates_start_pause_resume_list_info_and_abort()
    {
        var file = cluster.JobFile("web.json", Job("web"));
        Assert.Equal(0, (await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/web", file)).ExitCode);
        var bigger = cluster.JobFile("web2.json", Job("web", ram: "64MB"));

        var started = await cluster.AuroraAsync("update", "start", "devcluster/www-data/prod/web", bigger, "-m", "more memory");
        Assert.True(started.ExitCode == 0, started.ToString());
        Assert.Equal(0, (await cluster.AuroraAsync("update", "pause", "devcluster/www-data/prod/web")).ExitCode);
        Assert.Equal(0, (await cluster.AuroraAsync("update", "resume", "devcluster/www-data/prod/web")).ExitCode);

        var list = await cluster.AuroraAsync("update", "list", "devcluster/www-data", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("ROLLING_FORWARD", list.Out, StringComparison.Ordinal);

        var info = await cluster.AuroraAsync("update", "info", "devcluster/www-data/prod/web", "--json");
        Assert.True(info.ExitCode == 0, info.ToString());
        Assert.Contains("ROLL_FORWARD_PAUSED", info.Out, StringComparison.Ordinal);

        var rolledBack = await cluster.AuroraAsync("update", "rollback", "devcluster/www-data/prod/web");
        Assert.True(rolledBack.ExitCode == 0, rolledBack.ToString());
        Assert.Contains("ROLLING_BACK", (await cluster.AuroraAsync("update", "info", "devcluster/www-data/prod/web", "--json")).Out, StringComparison.Ordinal);
        Assert.Equal(0, (await cluster.AuroraAsync("update", "abort", "devcluster/www-data/prod/web")).ExitCode);

        // The update ended without rolling forward: wait says so with a failure exit code.
        var waited = await cluster.AuroraAsync("update", "wait", "devcluster/www-data/prod/web");
        Assert.True(waited.ExitCode == 4, waited.ToString());

        var none = await cluster.AuroraAsync("update", "pause", "devcluster/www-data/prod/web");
        Assert.NotEqual(0, none.ExitCode);
    }

    [Fact]
    public async Task Cron_schedule_show_start_and_deschedule()
    {
        var cron = cluster.JobFile("nightly.json", """
            {"jobs": [{"cluster": "devcluster", "role": "www-data", "environment": "prod", "name": "nightly",
              "cron_schedule": "0 3 * * *", "cron_collision_policy": "CANCEL_NEW",
              "task": {"name": "nightly", "processes": [{"name": "main", "cmdline": "echo nightly"}],
                       "resources": {"cpu": 0.1, "ram": "32MB", "disk": "32MB"}}}]}
            """);
        var created = await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/nightly", cron);
        Assert.True(created.ExitCode == 5, created.ToString());
        Assert.Contains("cron schedule", created.Err, StringComparison.Ordinal);

        Assert.Equal(0, (await cluster.AuroraAsync("cron", "schedule", "devcluster/www-data/prod/nightly", cron)).ExitCode);
        var shown = await cluster.AuroraAsync("cron", "show", "devcluster/www-data/prod/nightly", "--json");
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("0 3 * * *", shown.Out, StringComparison.Ordinal);
        Assert.Equal(0, (await cluster.AuroraAsync("cron", "start", "devcluster/www-data/prod/nightly")).ExitCode);
        var status = await cluster.AuroraAsync("job", "status", "devcluster/www-data/prod/nightly", "--json");
        Assert.Single(status.Json["tasks"]!.AsArray());
        Assert.Equal(0, (await cluster.AuroraAsync("cron", "deschedule", "devcluster/www-data/prod/nightly")).ExitCode);
        Assert.Equal(6, (await cluster.AuroraAsync("cron", "show", "devcluster/www-data/prod/nightly")).ExitCode);
    }

    [Fact]
    public async Task Quota_get_shows_the_role()
    {
        var quota = await cluster.AuroraAsync("quota", "get", "devcluster/www-data", "--json");
        Assert.True(quota.ExitCode == 0, quota.ToString());
        Assert.Equal("www-data", quota.Json["role"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("devcluster/www-data/prod", "bad job key")]
    [InlineData("devcluster/www-data/prod/hello/world/x", "bad job key")]
    [InlineData("devcluster/www data/prod/hello", "www data")]
    public async Task A_bad_job_key_is_a_usage_error(string key, string expected)
    {
        var run = await cluster.AuroraAsync("job", "create", key, cluster.JobFile("any.json", Job("hello")));
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(expected, run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_or_invalid_config_names_the_file_and_field()
    {
        var missing = await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/hello", "no-such-file.json");
        Assert.True(missing.ExitCode == 3, missing.ToString());
        Assert.Contains("no-such-file.json", missing.Err, StringComparison.Ordinal);

        var badSize = await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/sized", cluster.JobFile("sized.json", Job("sized", ram: "32QB")));
        Assert.True(badSize.ExitCode == 3, badSize.ToString());
        Assert.Contains("jobs[0].task.resources.ram", badSize.Err, StringComparison.Ordinal);
        Assert.Contains("32QB", badSize.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_cluster_or_a_scheduler_that_is_down_is_said_plainly()
    {
        var unknown = await cluster.AuroraAsync("job", "list", "nocluster/www-data");
        Assert.True(unknown.ExitCode == 6, unknown.ToString());
        Assert.Contains("nocluster", unknown.Err, StringComparison.Ordinal);

        var down = await cluster.AuroraAsync("job", "list", "downcluster/www-data");
        Assert.True(down.ExitCode == 7, down.ToString());
        Assert.Contains("downcluster", down.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scheduler_refusals_carry_the_schedulers_message()
    {
        var refused = await cluster.AuroraAsync("job", "add", "devcluster/www-data/prod/nothing/0", "1");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.False(string.IsNullOrWhiteSpace(refused.Err), refused.ToString());
        Assert.Equal(string.Empty, refused.Out);
    }
}
