using System.Text;
using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Tests.Auth;

public class HttpSecurityTests
{
    private static readonly ShiroIni Ini = ShiroIni.Parse("""
        [users]
        sally = apple, admin
        bob = hunter2, webapp
        carol = "pä:ss, wörd", accounting
        reader = s3cret

        [roles]
        admin = *
        webapp = thrift.AuroraSchedulerManager:*:webapp
        accounting = thrift.AuroraAdmin:setQuota
        """, "security.ini");

    private static readonly HttpSecurity Basic = HttpSecurity.Basic(Ini);

    [Theory]
    [InlineData("sally", "apple")]
    [InlineData("bob", "hunter2")]
    [InlineData("carol", "pä:ss, wörd")]
    public void Good_credentials_authenticate_the_user(string user, string password)
    {
        var result = Basic.Authenticate(Header(user, password));

        Assert.Equal(AuthenticationResult.Authenticated(user), result);
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("BASIC")]
    [InlineData("Basic  ")]
    public void The_scheme_is_case_insensitive_and_spaces_are_tolerated(string scheme)
    {
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes("sally:apple"));

        Assert.Equal(AuthenticationResult.Authenticated("sally"), Basic.Authenticate($"  {scheme} {encoded}  "));
    }

    [Fact]
    public void No_header_is_anonymous()
    {
        Assert.Equal(AuthenticationResult.Anonymous, Basic.Authenticate(null));
    }

    [Theory]
    [InlineData("sally", "pear")]
    [InlineData("sally", "apple ")]
    [InlineData("sally", "")]
    [InlineData("Sally", "apple")]
    [InlineData("mallory", "apple")]
    [InlineData("", "")]
    public void A_wrong_password_and_an_unknown_user_fail_alike(string user, string password)
    {
        var result = Basic.Authenticate(Header(user, password));

        Assert.Equal(AuthenticationResult.Failed("Invalid user name or password."), result);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("   ", "is empty")]
    [InlineData("Basic", "missing or too long")]
    [InlineData("Basic ", "missing or too long")]
    [InlineData("Basic !!!notbase64", "not valid base64")]
    [InlineData("Basic c2FsbHk=", "not 'user:password' in UTF-8")]
    [InlineData("Basic //79OmFwcGxl", "not 'user:password' in UTF-8")]
    [InlineData("Bearer eyJhbGciOi", "does not use the Basic scheme")]
    [InlineData("Negotiate YIIC", "does not use the Basic scheme")]
    [InlineData("c2FsbHk6YXBwbGU=", "does not use the Basic scheme")]
    public void Malformed_headers_fail_with_the_reason(string header, string reason)
    {
        var result = Basic.Authenticate(header);

        Assert.Equal(AuthenticationOutcome.Failed, result.Outcome);
        Assert.Null(result.User);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_never_quotes_the_header()
    {
        var result = Basic.Authenticate("c2FsbHk6YXBwbGU=");

        Assert.DoesNotContain("c2FsbHk6YXBwbGU=", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Over_long_credentials_fail_without_decoding()
    {
        var result = Basic.Authenticate("Basic " + new string('A', 10_000));

        Assert.Contains("missing or too long", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_team_role_permits_its_own_jobs_only()
    {
        Assert.True(Basic.Check("bob", Permissions.SchedulerManager("createJob", "webapp", "prod", "x")).Permitted);
        Assert.True(Basic.Check("bob", Permissions.SchedulerManager("killTasks", "webapp", "devel", "y")).Permitted);

        var denied = Basic.Check("bob", Permissions.SchedulerManager("createJob", "other", "prod", "x"));
        Assert.False(denied.Permitted);
        Assert.Equal("Subject bob lacks permission thrift.AuroraSchedulerManager:createJob:other:prod:x.", denied.Message);
        Assert.False(Basic.Check("bob", Permissions.Admin("setQuota")).Permitted);
    }

    [Fact]
    public void Admin_star_permits_everything()
    {
        Assert.True(Basic.Check("sally", Permissions.SchedulerManager("createJob", "other", "prod", "x")).Permitted);
        Assert.True(Basic.Check("sally", Permissions.Admin("setQuota")).Permitted);
        Assert.True(Basic.Check("sally", Permissions.Admin("commitRecovery")).Permitted);
    }

    [Fact]
    public void An_unscoped_admin_permission_permits_only_that_rpc()
    {
        Assert.True(Basic.Check("carol", Permissions.Admin("setQuota")).Permitted);

        var denied = Basic.Check("carol", Permissions.Admin("snapshot"));
        Assert.False(denied.Permitted);
        Assert.Equal("Subject carol lacks permission thrift.AuroraAdmin:snapshot.", denied.Message);
    }

    [Fact]
    public void Users_without_roles_and_unknown_subjects_are_denied()
    {
        Assert.Equal(
            new AuthorizationResult(false, "Subject sally lacks permission thrift.AuroraAdmin:setQuota."),
            HttpSecurity.Basic(ShiroIni.Parse("[users]\nsally = apple\n", "t.ini")).Check("sally", Permissions.Admin("setQuota")));
        Assert.False(Basic.Check("reader", Permissions.Admin("listBackups")).Permitted);
        Assert.False(Basic.Check("mallory", WildcardPermission.Parse("thrift.AuroraAdmin:setQuota")).Permitted);
    }

    [Fact]
    public void Checks_ignore_case_as_Shiro_does()
    {
        Assert.True(Basic.Check("bob", "THRIFT.AURORASCHEDULERMANAGER:CREATEJOB:WEBAPP:prod:x").Permitted);
    }

    [Fact]
    public void Without_authentication_everything_is_permitted_and_headers_are_ignored()
    {
        var open = HttpSecurity.Open;

        Assert.Equal(AuthenticationMechanism.None, open.Mechanism);
        Assert.False(open.IsEnforced);
        Assert.Equal(AuthenticationResult.Anonymous, open.Authenticate(Header("sally", "apple")));
        Assert.Equal(AuthenticationResult.Anonymous, open.Authenticate("garbage"));
        Assert.True(open.Check("anyone", Permissions.Admin("setQuota")).Permitted);
    }

    [Theory]
    [InlineData("NONE", nameof(AuthenticationMechanism.None))]
    [InlineData("none", nameof(AuthenticationMechanism.None))]
    [InlineData("BASIC", nameof(AuthenticationMechanism.Basic))]
    [InlineData(" Basic ", nameof(AuthenticationMechanism.Basic))]
    public void The_mechanism_flag_is_case_insensitive(string value, string mechanism) =>
        Assert.Equal(Enum.Parse<AuthenticationMechanism>(mechanism), HttpSecurity.ParseMechanism(value));

    [Theory]
    [InlineData("NEGOTIATE", "-http_authentication_mechanism=NEGOTIATE: Kerberos (SPNEGO) is not supported")]
    [InlineData("negotiate", "Kerberos (SPNEGO) is not supported")]
    [InlineData("DIGEST", "-http_authentication_mechanism=DIGEST: must be NONE or BASIC.")]
    [InlineData("", "must be NONE or BASIC")]
    public void Other_mechanisms_are_refused(string value, string message)
    {
        var error = Assert.Throws<FormatException>(() => HttpSecurity.ParseMechanism(value));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_loads_the_ini_for_basic()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("shiro.ini");
        File.WriteAllText(path, "[users]\nsally = apple, admin\n[roles]\nadmin = *\n");

        var security = HttpSecurity.Create("BASIC", path);

        Assert.Equal(AuthenticationMechanism.Basic, security.Mechanism);
        Assert.True(security.IsEnforced);
        Assert.Equal(path, security.Ini?.FileName);
        Assert.Equal(AuthenticationResult.Authenticated("sally"), security.Authenticate(Header("sally", "apple")));
    }

    [Fact]
    public void Create_refuses_basic_without_an_ini_or_without_users()
    {
        var missing = Assert.Throws<ArgumentException>(() => HttpSecurity.Create("BASIC", null));
        Assert.Contains("-http_authentication_mechanism=BASIC needs -shiro_ini_path", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => HttpSecurity.Create("BASIC", "  "));

        using var dir = new TempDirectory();
        var path = dir.Sub("shiro.ini");
        File.WriteAllText(path, "[roles]\nadmin = *\n");
        var empty = Assert.Throws<ShiroIniException>(() => HttpSecurity.Create("basic", path));
        Assert.Contains("defines no users in [users]", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_with_none_still_validates_a_given_ini()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("shiro.ini");
        File.WriteAllText(path, "[urls]\n");

        Assert.Throws<ShiroIniException>(() => HttpSecurity.Create("NONE", path));
        Assert.Throws<ShiroIniException>(() => HttpSecurity.Create("NONE", dir.Sub("missing.ini")));
        Assert.False(HttpSecurity.Create("NONE", null).IsEnforced);
    }

    [Fact]
    public void The_challenge_names_the_Aurora_realm() => Assert.Equal("Basic realm=\"Aurora\"", HttpSecurity.Challenge);

    private static string Header(string user, string password) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
}
