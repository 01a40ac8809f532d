namespace Aurora.Client.Tests.Commands;

public sealed class CronAndQuotaCommandTests : FakeSchedulerTests
{
    private const string Key = "test/www-data/prod/cleanup";
    private const string CronPath = "/api/cron/www-data/prod/cleanup";
    [Fact]
    public async Task Schedule_puts_the_cron_job()
    {
        var config = Cli.WriteFile("cron.json", Canned.CronJob);
        Scheduler.On("PUT", CronPath, Canned.Write());

        var result = await Cli.AuroraAsync("cron", "schedule", Key, config);

        Assert.True(result.Exit == 0, result.ToString());
        var sent = Assert.Single(Scheduler.To("PUT", CronPath)).Json["config"]!;
        Assert.Equal("*/15 * * * *", sent["cronSchedule"]!.GetValue<string>());
        Assert.Contains("Cron job test/www-data/prod/cleanup scheduled (*/15 * * * *)", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schedule_refuses_a_job_without_a_cron_schedule()
    {
        var config = Cli.WriteFile("hello.json", Canned.HelloJob);

        var result = await Cli.AuroraAsync("cron", "schedule", "test/www-data/prod/hello", config);

        Assert.Equal(ExitCodes.InvalidCommand, result.Exit);
        Assert.Contains("has no cron_schedule", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.Requests);
    }

    [Fact]
    public async Task Deschedule_start_and_show_use_the_cron_endpoints()
    {
        Scheduler.On("DELETE", CronPath, Canned.Write())
            .On("POST", CronPath + "/start", Canned.Write())
            .On("GET", CronPath, """
                {"job": {"role": "www-data", "environment": "prod", "name": "cleanup"}, "cronSchedule": "*/15 * * * *",
                 "collisionPolicy": "CRON_COLLISION_POLICY_CANCEL_NEW", "nextRun": "2026-12-02T20:30:00.000Z", "config": {"instanceCount": 1}}
                """);

        Assert.Equal(0, (await Cli.AuroraAsync("cron", "deschedule", Key)).Exit);
        Assert.Equal(0, (await Cli.AuroraAsync("cron", "start", Key)).Exit);
        var show = await Cli.AuroraAsync("cron", "show", Key);
        var json = await Cli.AuroraAsync("cron", "show", Key, "--json");

        Assert.Single(Scheduler.To("DELETE", CronPath));
        Assert.Equal(string.Empty, Assert.Single(Scheduler.To("POST", CronPath + "/start")).Body);
        Assert.Contains("CANCEL_NEW", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("2026-12-02 20:30:00Z", show.Stdout, StringComparison.Ordinal);
        Assert.Equal("*/15 * * * *", json.Json["cronSchedule"]!.GetValue<string>());
    }

    [Fact]
    public async Task Quota_get_shows_the_quota_and_consumption()
    {
        Scheduler.On("GET", "/api/quotas/www-data", """
            {"role": "www-data", "quota": {"numCpus": 4, "ramMb": 8192, "diskMb": 16384},
             "prodSharedConsumption": {"numCpus": 1.5, "ramMb": 512, "diskMb": 1024},
             "nonProdSharedConsumption": {"numCpus": 0, "ramMb": 0, "diskMb": 0}}
            """);

        var table = await Cli.AuroraAsync("quota", "get", "test/www-data");
        var json = await Cli.AuroraAsync("quota", "get", "test/www-data", "--json");
        var bad = await Cli.AuroraAsync("quota", "get", "test");

        Assert.True(table.Exit == 0, table.ToString());
        Assert.Contains("8GB", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("production, shared", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("1.5", table.Stdout, StringComparison.Ordinal);
        Assert.Equal(8192, json.Json["quota"]!["ramMb"]!.GetValue<int>());
        Assert.Equal(ExitCodes.Usage, bad.Exit);
        Assert.Contains("bad role 'test': expected CLUSTER/ROLE", bad.Stderr, StringComparison.Ordinal);
    }
}
