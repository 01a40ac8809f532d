namespace Aurora.Client.Tests.Commands;

public sealed class CommandLineTests : IDisposable
{
    private readonly CliHarness _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Help_at_every_level_goes_to_stdout_and_exits_0()
    {
        var top = await _cli.AuroraAsync("-help");
        var noun = await _cli.AuroraAsync("job", "-help");
        var verb = await _cli.AuroraAsync("job", "create", "--help");
        var helpVerb = await _cli.AuroraAsync("help", "update", "start");
        var admin = await _cli.AdminAsync("-help");
        var adminVerb = await _cli.AdminAsync("set_quota", "-h");

        Assert.All(new[] { top, noun, verb, helpVerb, admin, adminVerb }, r => Assert.Equal(0, r.Exit));
        Assert.Contains("aurora job create CLUSTER/ROLE/ENV/NAME CONFIG", top.Stdout, StringComparison.Ordinal);
        Assert.Contains("aurora quota get CLUSTER/ROLE", top.Stdout, StringComparison.Ordinal);
        Assert.Contains("killall", noun.Stdout, StringComparison.Ordinal);
        Assert.Contains("usage: aurora job create CLUSTER/ROLE/ENV/NAME CONFIG [--wait-until=STATE]", verb.Stdout, StringComparison.Ordinal);
        Assert.Contains("--wait-until=STATE", verb.Stdout, StringComparison.Ordinal);
        Assert.Contains("usage: aurora update start", helpVerb.Stdout, StringComparison.Ordinal);
        Assert.Contains("scheduler_list_backups", admin.Stdout, StringComparison.Ordinal);
        Assert.Contains("512MB, 2GB", adminVerb.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_command_lines_exit_2_with_a_message_on_stderr()
    {
        var nothing = await _cli.AuroraAsync();
        var noun = await _cli.AuroraAsync("jobs", "list", "test");
        var verb = await _cli.AuroraAsync("job", "destroy", "x");
        var flag = await _cli.AuroraAsync("job", "list", "test", "--colour");
        var key = await _cli.AuroraAsync("job", "killall", "test/www-data/prod");
        var admin = await _cli.AdminAsync("set_quotas", "x");

        Assert.All(new[] { nothing, noun, verb, flag, key, admin }, r => Assert.Equal(ExitCodes.Usage, r.Exit));
        Assert.All(new[] { noun, verb, flag, key, admin }, r => Assert.Equal(string.Empty, r.Stdout));
        Assert.Contains("usage: aurora NOUN VERB", nothing.Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown command 'jobs' for aurora; the commands are job, update, cron, quota", noun.Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown verb 'destroy' for aurora job", verb.Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown flag --colour for aurora job list", flag.Stderr, StringComparison.Ordinal);
        Assert.Contains("error: bad job key 'test/www-data/prod': expected cluster/role/env/name", key.Stderr, StringComparison.Ordinal);
        Assert.Contains("usage: aurora job killall CLUSTER/ROLE/ENV/NAME", key.Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown verb 'set_quotas' for aurora_admin", admin.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_clusters_file_exits_3_naming_it()
    {
        _cli.WriteClusters("[{");

        var result = await _cli.AuroraAsync("job", "list", "test");

        Assert.Equal(ExitCodes.InvalidConfiguration, result.Exit);
        Assert.Contains($"invalid clusters file {Path.Combine(_cli.ConfigRoot, "clusters.json")}: it is not valid JSON", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interrupting_a_wait_exits_130()
    {
        await using var scheduler = await FakeScheduler.StartAsync();
        scheduler.On("GET", "/api/updates/www-data/prod/hello/u-1", Canned.Update("u-1", "ROLLING_FORWARD").ToJsonString());
        using var cli = new CliHarness(scheduler.Uri);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var interrupt = new CancellationTokenSource();

        var run = Aurora.Cli.AuroraCli.RunAsync(["update", "wait", "test/www-data/prod/hello", "u-1"], stdout, stderr, cli.Environment, interrupt.Token);
        while (scheduler.Requests.Count < 2)
        {
            await Task.Delay(5);
        }

        await interrupt.CancelAsync();

        Assert.Equal(ExitCodes.Interrupted, await run);
    }
}
