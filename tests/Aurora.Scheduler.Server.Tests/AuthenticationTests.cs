using System.Text.Json.Nodes;
using Aurora.CommandLine;
using Aurora.Scheduler.Server.Auth;
using Aurora.Scheduler.Server.Tests.Support;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>BASIC authentication with a real shiro.ini: writes need permission, reads stay open (as in Aurora).</summary>
public sealed class AuthenticationTests : IAsyncLifetime
{
    private const string Ini = """
        # Aurora-shaped permissions
        [users]
        root = rootpw, admin
        webdev = webpw, webapp
        auditor = auditpw

        [roles]
        admin = *
        webapp = thrift.AuroraSchedulerManager:*:webapp
        """;

    private readonly TempDirectory _directory = new();
    private ServerHarness _server = null!;

    public async Task InitializeAsync()
    {
        var ini = Path.Combine(_directory.Path, "security.ini");
        await File.WriteAllTextAsync(ini, Ini);
        _server = await ServerHarness.StartAsync(extraFlags: ["-http_authentication_mechanism=BASIC", $"-shiro_ini_path={ini}"]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Writes_without_credentials_are_refused_with_401_and_a_challenge()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/jobs") { Content = new StringContent(Body("webapp").ToJsonString()) };
        using var response = await _server.Http.SendAsync(request);
        Assert.Equal(401, (int)response.StatusCode);
        Assert.Equal("Basic", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("AUTH_REQUIRED", error["code"]!.GetValue<string>());
        Assert.Contains("needs credentials", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>Issue 12, finding 8: who asks is settled before the body is looked at, so a stranger learns nothing from validation.</summary>
    [Theory]
    [InlineData("POST", "/api/maintenance/sla_drain")]
    [InlineData("POST", "/api/updates")]
    [InlineData("PUT", "/api/cron/webapp/prod/nightly")]
    [InlineData("POST", "/api/jobs")]
    [InlineData("PUT", "/api/quotas/webapp")]
    public async Task A_bad_body_without_credentials_gets_401_before_any_validation(string method, string path)
    {
        var (status, body) = await _server.SendAsync(new HttpMethod(method), path, new JsonObject { ["nonsense"] = 1 });

        Assert.Equal(401, status);
        Assert.Equal("AUTH_REQUIRED", body!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_permission_a_write_lacks_is_named_once_the_caller_is_known()
    {
        var (status, body) = await _server.SendAsync(HttpMethod.Post, "/api/jobs", Body("other"), basic: ("webdev", "webpw"));

        Assert.Equal(403, status);
        Assert.Contains("thrift.AuroraSchedulerManager:createJob:other:prod:hello", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("scheduler")]
    [InlineData("cron")]
    [InlineData("agent")]
    public void A_shiro_user_may_not_bear_the_name_of_a_system_principal(string name)
    {
        var error = Assert.Throws<ShiroIniException>(() => ShiroIni.Parse($"[users]\n{name} = pw, admin\n[roles]\nadmin = *\n", "security.ini"));

        Assert.Contains($"user '{name}' has a name reserved for the scheduler's own entries in the log", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_password_or_unknown_user_is_refused_with_401_without_saying_which()
    {
        var (wrong, wrongBody) = await _server.SendAsync(HttpMethod.Post, "/api/jobs", Body("webapp"), basic: ("webdev", "nope"));
        var (unknown, unknownBody) = await _server.SendAsync(HttpMethod.Post, "/api/jobs", Body("webapp"), basic: ("mallory", "webpw"));
        Assert.Equal(401, wrong);
        Assert.Equal(401, unknown);
        Assert.Equal(wrongBody!.ToJsonString(), unknownBody!.ToJsonString());
    }

    [Fact]
    public async Task Job_scoped_permissions_allow_a_role_and_nothing_else()
    {
        var (allowed, _) = await _server.SendAsync(HttpMethod.Post, "/api/jobs", Body("webapp"), basic: ("webdev", "webpw"));
        Assert.Equal(200, allowed);
        Assert.Contains("webdev", _server.Server.Runtime.Store.Log.Read(1).Select(e => e.Principal));

        var (denied, body) = await _server.SendAsync(HttpMethod.Post, "/api/jobs", Body("www-data"), basic: ("webdev", "webpw"));
        Assert.Equal(403, denied);
        Assert.Equal("PERMISSION_DENIED", body!["error"]!["code"]!.GetValue<string>());
        Assert.Contains("thrift.AuroraSchedulerManager:createJob:www-data:prod:hello", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var (admin, _) = await _server.SendAsync(HttpMethod.Put, "/api/quotas/webapp", Quota(), basic: ("webdev", "webpw"));
        Assert.Equal(403, admin);
        var (noRoles, _) = await _server.SendAsync(HttpMethod.Post, "/api/jobs/webapp/prod/hello/kill", new JsonObject(), basic: ("auditor", "auditpw"));
        Assert.Equal(403, noRoles);
    }

    [Fact]
    public async Task Admins_may_do_admin_calls_and_admin_reads_need_credentials()
    {
        Assert.Equal(200, (await _server.SendAsync(HttpMethod.Put, "/api/quotas/webapp", Quota(), basic: ("root", "rootpw"))).Status);
        Assert.Equal(401, (await _server.GetAsync("/api/backups")).Status);
        Assert.Equal(200, (await _server.SendAsync(HttpMethod.Get, "/api/backups", basic: ("root", "rootpw"))).Status);
        Assert.Equal(401, (await _server.PostAsync("/quitquitquit")).Status);
    }

    [Fact]
    public async Task Reads_are_open_as_in_Aurora()
    {
        Assert.Equal(200, (await _server.GetAsync("/api/jobs")).Status);
        Assert.Equal(200, (await _server.GetAsync("/api/tasks")).Status);
        Assert.Equal(200, (await _server.GetAsync("/api/quotas/webapp")).Status);
        Assert.Equal(200, (await _server.GetAsync("/vars")).Status);
    }

    [Fact]
    public void Bad_security_flags_are_refused_at_start_up()
    {
        var missing = Assert.Throws<UsageException>(() => ServerOptions.FromFlags(SchedulerFlags.Parse(
            ["-cluster_name=c", "-native_log_file_path=/tmp/x", "-backup_dir=/tmp/y", "-http_authentication_mechanism=BASIC", $"-shiro_ini_path={_directory.Path}/missing.ini"])));
        Assert.Contains("missing.ini", missing.Message, StringComparison.Ordinal);

        var kerberos = Assert.Throws<UsageException>(() => ServerOptions.FromFlags(SchedulerFlags.Parse(
            ["-cluster_name=c", "-native_log_file_path=/tmp/x", "-backup_dir=/tmp/y", "-http_authentication_mechanism=NEGOTIATE"])));
        Assert.Contains("NEGOTIATE", kerberos.Message, StringComparison.Ordinal);
    }

    private static JsonObject Body(string role) => new() { ["config"] = ServerHarness.Proto(ServerHarness.Job(role: role)) };

    private static JsonObject Quota() => new() { ["numCpus"] = 1, ["ramMb"] = 1024, ["diskMb"] = 1024 };
}
