using System.Text;

namespace Aurora.Client.Tests.Commands;

public sealed class TransportAndErrorTests : IAsyncLifetime
{
    private const string Key = "test/www-data/prod/hello";
    private const string KillPath = "/api/jobs/www-data/prod/hello/kill";
    private FakeScheduler _scheduler = null!;

    public async Task InitializeAsync() => _scheduler = await FakeScheduler.StartAsync();

    public async Task DisposeAsync() => await _scheduler.DisposeAsync();

    [Theory]
    [InlineData(404, "NOT_FOUND", ExitCodes.InvalidParameter)]
    [InlineData(403, "PERMISSION_DENIED", ExitCodes.PermissionViolation)]
    [InlineData(400, "INVALID_REQUEST", ExitCodes.ApiError)]
    [InlineData(409, "JOB_UPDATING", ExitCodes.ApiError)]
    [InlineData(413, "TOO_LARGE", ExitCodes.ApiError)]
    [InlineData(500, "INTERNAL", ExitCodes.ApiError)]
    [InlineData(503, "STORAGE_NOT_READY", ExitCodes.NetworkError)]
    public async Task Scheduler_errors_map_to_exit_codes_and_show_the_code_and_message(int status, string code, int exit)
    {
        using var cli = new CliHarness(_scheduler.Uri);
        _scheduler.OnError("POST", KillPath, status, code, "what the scheduler says");

        var result = await cli.AuroraAsync("job", "killall", Key);

        Assert.Equal(exit, result.Exit);
        Assert.Equal($"error: {code}: what the scheduler says\n", result.Stderr);
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Fact]
    public async Task An_error_that_is_not_json_is_described_from_the_status()
    {
        using var cli = new CliHarness(_scheduler.Uri);
        _scheduler.On("POST", KillPath, null, status: 502);

        var result = await cli.AuroraAsync("job", "killall", Key);

        Assert.Equal(ExitCodes.NetworkError, result.Exit);
        Assert.Contains("HTTP_502: HTTP 502 Bad Gateway from POST", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unauthenticated_cluster_getting_401_is_told_to_set_basic_and_netrc()
    {
        using var cli = new CliHarness(_scheduler.Uri);
        _scheduler.OnError("POST", KillPath, 401, "AUTH_REQUIRED", "Authentication required.");

        var result = await cli.AuroraAsync("job", "killall", Key);

        Assert.Equal(ExitCodes.PermissionViolation, result.Exit);
        Assert.Contains("AUTH_REQUIRED: Authentication required.", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("\"auth_mechanism\": \"BASIC\"", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"machine {_scheduler.Uri.Host} login USER password PASSWORD", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_cluster_sends_the_netrc_credentials_for_the_scheduler_host()
    {
        using var cli = new CliHarness(_scheduler.Uri, auth: "BASIC");
        cli.WriteNetrc($"machine elsewhere login bob password pear\nmachine {_scheduler.Uri.Host}\n  login alice\n  password apple\n");
        _scheduler.On("POST", KillPath, Canned.Write());

        var result = await cli.AuroraAsync("job", "killall", Key);

        Assert.True(result.Exit == 0, result.ToString());
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:apple"));
        Assert.Equal(expected, Assert.Single(_scheduler.To("POST", KillPath)).Header("Authorization"));
    }

    [Fact]
    public async Task Unauthenticated_cluster_sends_no_credentials_even_with_a_netrc()
    {
        using var cli = new CliHarness(_scheduler.Uri);
        cli.WriteNetrc($"machine {_scheduler.Uri.Host} login alice password apple");
        _scheduler.On("POST", KillPath, Canned.Write());

        await cli.AuroraAsync("job", "killall", Key);

        Assert.Null(Assert.Single(_scheduler.To("POST", KillPath)).Header("Authorization"));
    }

    [Fact]
    public async Task Basic_cluster_without_a_netrc_entry_says_what_to_add()
    {
        using var cli = new CliHarness(_scheduler.Uri, auth: "BASIC");
        _scheduler.OnError("POST", KillPath, 401, "AUTH_REQUIRED", "Authentication required.");

        var result = await cli.AuroraAsync("job", "killall", Key);

        Assert.Equal(ExitCodes.PermissionViolation, result.Exit);
        Assert.Contains($"{Path.Combine(cli.Home, ".netrc")} has no entry for machine {_scheduler.Uri.Host}", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_credentials_are_reported_as_refused()
    {
        using var cli = new CliHarness(_scheduler.Uri, auth: "BASIC");
        cli.WriteNetrc("default login alice password wrong");
        _scheduler.OnError("POST", KillPath, 401, "AUTH_REQUIRED", "Bad credentials.");

        var result = await cli.AuroraAsync("job", "killall", Key);

        Assert.Equal(ExitCodes.PermissionViolation, result.Exit);
        Assert.Contains("the scheduler refused the login", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_netrc_is_a_configuration_error()
    {
        using var cli = new CliHarness(_scheduler.Uri, auth: "BASIC");
        cli.WriteNetrc("login alice");

        var result = await cli.AuroraAsync("job", "killall", Key);

        Assert.Equal(ExitCodes.InvalidConfiguration, result.Exit);
        Assert.Contains("invalid netrc file", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_write_redirected_to_the_leader_is_resent_with_its_body_and_credentials()
    {
        await using var leader = await FakeScheduler.StartAsync();
        leader.On("POST", KillPath, Canned.Write("killed by the leader"));
        _scheduler.On("POST", KillPath, null, status: 307, headers: new Dictionary<string, string> { ["Location"] = new Uri(leader.Uri, KillPath).ToString() });
        using var cli = new CliHarness(_scheduler.Uri, auth: "BASIC");
        cli.WriteNetrc("default login alice password apple");

        var result = await cli.AuroraAsync("job", "kill", $"{Key}/1", "-m", "moving");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("killed by the leader", result.Stdout, StringComparison.Ordinal);
        var follower = Assert.Single(_scheduler.To("POST", KillPath));
        var atLeader = Assert.Single(leader.To("POST", KillPath));
        Assert.Equal(follower.Body, atLeader.Body);
        Assert.Equal("""{"instances":[1],"message":"moving"}""", atLeader.Body);
        Assert.NotNull(atLeader.Header("Authorization"));
        Assert.Equal(CliHarness.User, atLeader.Header("X-Aurora-User"));
    }

    [Fact]
    public async Task Endless_redirects_stop_with_a_network_error()
    {
        _scheduler.On("DELETE", "/api/cron/www-data/prod/hello", null, status: 307, headers: new Dictionary<string, string> { ["Location"] = "/api/cron/www-data/prod/hello" });
        using var cli = new CliHarness(_scheduler.Uri);

        var result = await cli.AuroraAsync("cron", "deschedule", Key);

        Assert.Equal(ExitCodes.NetworkError, result.Exit);
        Assert.Contains("redirected DELETE", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(6, _scheduler.Requests.Count);
    }

    [Fact]
    public async Task An_unreachable_scheduler_exits_7_naming_the_cluster_and_address()
    {
        var uri = new Uri($"http://127.0.0.1:{CliHarness.ClosedPort()}");
        using var cli = new CliHarness(uri);

        var result = await cli.AuroraAsync("job", "list", "test");

        Assert.Equal(ExitCodes.NetworkError, result.Exit);
        Assert.Contains($"error: cannot reach the scheduler of cluster test at {uri.ToString().TrimEnd('/')}: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("refused", result.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_scheduler_that_does_not_answer_in_time_exits_9()
    {
        _scheduler.On("GET", "/api/jobs", "{}", delay: TimeSpan.FromMinutes(1));
        using var cli = new CliHarness(_scheduler.Uri);
        cli.Environment = cli.Environment with { RequestTimeout = TimeSpan.FromMilliseconds(200) };

        var result = await cli.AuroraAsync("job", "list", "test");

        Assert.Equal(ExitCodes.Timeout, result.Exit);
        Assert.Contains("did not answer GET /api/jobs within 0.2s", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scheduler_uri_with_a_path_prefix_keeps_it()
    {
        var prefixed = new Uri(_scheduler.Uri, "/aurora/");
        _scheduler.On("GET", "/aurora/api/jobs", """{"jobs": []}""");
        using var cli = new CliHarness(prefixed);

        var result = await cli.AuroraAsync("job", "list", "test");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Single(_scheduler.To("GET", "/aurora/api/jobs"));
    }

    [Fact]
    public async Task An_unknown_cluster_exits_6()
    {
        using var cli = new CliHarness(_scheduler.Uri);

        var result = await cli.AuroraAsync("job", "list", "nowhere");

        Assert.Equal(ExitCodes.InvalidParameter, result.Exit);
        Assert.Contains("unknown cluster 'nowhere'", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_zookeeper_only_cluster_exits_3()
    {
        using var cli = new CliHarness();
        cli.WriteClusters("""[{"name": "test", "zk": "zk1"}]""");

        var result = await cli.AuroraAsync("job", "list", "test");

        Assert.Equal(ExitCodes.InvalidConfiguration, result.Exit);
        Assert.Contains("ZooKeeper discovery is not supported by this client yet", result.Stderr, StringComparison.Ordinal);
    }
}
