using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Tests.Auth;

public class ShiroIniTests
{
    private const string Example = """
        # Aurora's example, plus a role per team.
        [users]
        sally = apple, admin
        bob = hunter2, webapp
        ; an account that only reads and so needs no role
        reader = s3cret

        [roles]
        admin = *
        webapp = thrift.AuroraSchedulerManager:*:webapp
        """;

    [Fact]
    public void Users_roles_and_permissions_are_read()
    {
        var ini = ShiroIni.Parse(Example, "security.ini");

        Assert.Equal("security.ini", ini.FileName);
        Assert.Equal(["bob", "reader", "sally"], ini.Users.Keys.Order(StringComparer.Ordinal));
        var sally = ini.Users["sally"];
        Assert.Equal("apple", sally.Password);
        Assert.Equal(["admin"], sally.Roles);
        Assert.Equal(3, sally.Line);
        Assert.Empty(ini.Users["reader"].Roles);
        Assert.Equal(["*"], ini.Roles["admin"].Permissions.Select(p => p.Text));
        Assert.Equal(10, ini.Roles["webapp"].Line);
        Assert.Equal(["thrift.AuroraSchedulerManager:*:webapp"], ini.PermissionsOf("bob").Select(p => p.Text));
        Assert.Empty(ini.PermissionsOf("reader"));
        Assert.Empty(ini.PermissionsOf("nobody"));
    }

    [Fact]
    public void A_user_prints_without_its_password()
    {
        var ini = ShiroIni.Parse(Example, "security.ini");

        Assert.Equal("sally", ini.Users["sally"].ToString());
    }

    [Fact]
    public void Permissions_with_sub_parts_are_quoted_and_commas_outside_quotes_separate_permissions()
    {
        var ini = ShiroIni.Parse("""
            [roles]
            ops = "thrift.AuroraAdmin:setQuota,snapshot", thrift.AuroraAdmin:drainHosts , "thrift.AuroraSchedulerManager:killTasks,restartShards:webapp"
            """, "t.ini");

        Assert.Equal(
            ["thrift.AuroraAdmin:setQuota,snapshot", "thrift.AuroraAdmin:drainHosts", "thrift.AuroraSchedulerManager:killTasks,restartShards:webapp"],
            ini.Roles["ops"].Permissions.Select(p => p.Text));
    }

    [Fact]
    public void A_quoted_password_may_hold_commas_and_quotes_and_a_hash_is_not_a_comment()
    {
        var ini = ShiroIni.Parse(""""
            [users]
            sally = "ap,ple ""x""", admin
            bob = pass#word;1
            [roles]
            admin = *
            """", "t.ini");

        Assert.Equal("ap,ple \"x\"", ini.Users["sally"].Password);
        Assert.Equal(["admin"], ini.Users["sally"].Roles);
        Assert.Equal("pass#word;1", ini.Users["bob"].Password);
    }

    [Fact]
    public void Keys_end_at_equals_colon_or_whitespace_as_in_Shiro()
    {
        var ini = ShiroIni.Parse("""
            [users]
            a = one
            b: two
            c three
            d   =   four, r
            e==five
            [roles]
            r:thrift.AuroraAdmin:setQuota
            """, "t.ini");

        Assert.Equal(["one", "two", "three", "four", "five"], new[] { "a", "b", "c", "d", "e" }.Select(u => ini.Users[u].Password));
        Assert.Equal("thrift.AuroraAdmin:setQuota", ini.Roles["r"].Permissions.Single().Text);
    }

    [Fact]
    public void Comments_blank_lines_whitespace_and_CRLF_are_ignored()
    {
        var ini = ShiroIni.Parse("\r\n  # comment\r\n\t[users]  \r\n\r\n   ; another\r\n  sally = apple , admin  \r\n[roles]\r\nadmin = *\r\n", "t.ini");

        Assert.Equal("apple", ini.Users["sally"].Password);
        Assert.Equal(["admin"], ini.Users["sally"].Roles);
    }

    [Fact]
    public void A_trailing_backslash_continues_the_line()
    {
        var ini = ShiroIni.Parse("""
            [roles]
            ops = thrift.AuroraAdmin:setQuota, \
                  # comments between continued lines are skipped, as in Shiro
                  thrift.AuroraAdmin:snapshot
            """, "t.ini");

        Assert.Equal(["thrift.AuroraAdmin:setQuota", "thrift.AuroraAdmin:snapshot"], ini.Roles["ops"].Permissions.Select(p => p.Text));
        Assert.Equal(2, ini.Roles["ops"].Line);
    }

    [Fact]
    public void An_empty_file_has_no_users_or_roles()
    {
        var ini = ShiroIni.Parse("# nothing yet\n", "t.ini");

        Assert.Empty(ini.Users);
        Assert.Empty(ini.Roles);
    }

    [Fact]
    public void Roles_may_be_defined_after_the_users_that_have_them()
    {
        var ini = ShiroIni.Parse("[roles]\nadmin = *\n[users]\nsally = apple, admin\n", "t.ini");

        Assert.Equal(["*"], ini.PermissionsOf("sally").Select(p => p.Text));
    }

    [Fact]
    public void A_user_with_several_roles_holds_the_union_of_their_permissions()
    {
        var ini = ShiroIni.Parse("""
            [users]
            sally = apple, a, b, a
            [roles]
            a = thrift.AuroraAdmin:setQuota
            b = thrift.AuroraAdmin:snapshot, thrift.AuroraAdmin:setQuota
            """, "t.ini");

        Assert.Equal(["a", "b"], ini.Users["sally"].Roles);
        Assert.Equal(["thrift.AuroraAdmin:setQuota", "thrift.AuroraAdmin:snapshot"], ini.PermissionsOf("sally").Select(p => p.Text));
    }

    [Theory]
    [InlineData("[main]\nsecurityManager.realms = $realm\n", 1, "section [main] is not supported: Aurora reads only [users] and [roles]")]
    [InlineData("[users]\nsally = apple\n[urls]\n/** = authcBasic\n", 3, "section [urls] is not supported")]
    [InlineData("[Users]\nsally = apple\n", 1, "section names are case-sensitive: write [users]")]
    [InlineData("[groups]\n", 1, "section [groups] is not supported; only [users] and [roles] are")]
    [InlineData("[users\nsally = apple\n", 1, "'[users...' is not a section header")]
    [InlineData("sally = apple\n[users]\n", 1, "'sally' is outside any section")]
    [InlineData("[users]\nsally = apple\n[users]\nbob = pear\n", 3, "section [users] appears again (first at line 1)")]
    public void Sections_other_than_users_and_roles_are_refused_with_the_line(string text, int line, string message) =>
        AssertRefused(text, line, message);

    [Theory]
    [InlineData("[users]\nsally\n", 2, "user 'sally' has no password")]
    [InlineData("[users]\nsally =\n", 2, "user 'sally' has no password")]
    [InlineData("[users]\n= apple\n", 2, "has no user name")]
    [InlineData("[users]\nsally = , admin\n[roles]\nadmin = *\n", 2, "user 'sally' has an empty password")]
    [InlineData("[users]\nsally = apple, , admin\n[roles]\nadmin = *\n", 2, "user 'sally' has an empty role name")]
    [InlineData("[users]\nsally = apple\n\nsally = pear\n", 4, "user 'sally' is defined again (first at line 2)")]
    [InlineData("[users]\nsally = \"apple, admin\n", 2, "a double quote is not closed")]
    [InlineData("[users]\nsal\\ly = apple\n", 2, "contains '\\' or '\"'")]
    [InlineData("[users]\nsally = apple, admn\n[roles]\nadmin = *\n", 2, "user 'sally' has role 'admn', which [roles] does not define")]
    [InlineData("[users]\nsally = apple, Admin\n[roles]\nadmin = *\n", 2, "role names are case-sensitive: did you mean 'admin'?")]
    public void Malformed_user_lines_are_refused_with_the_line(string text, int line, string message) =>
        AssertRefused(text, line, message);

    [Theory]
    [InlineData("[roles]\nadmin\n", 2, "role 'admin' has no permissions")]
    [InlineData("[roles]\nadmin = *, ,thrift.AuroraAdmin\n", 2, "role 'admin' has an empty permission")]
    [InlineData("[roles]\nadmin = thrift.AuroraAdmin:setQuota,\n", 2, "role 'admin' has an empty permission")]
    [InlineData("[roles]\nadmin = *\nadmin = thrift.AuroraAdmin\n", 3, "role 'admin' is defined again (first at line 2)")]
    [InlineData("[roles]\nops = thrift.AuroraAdmin::setQuota\n", 2, "role 'ops': Permission 'thrift.AuroraAdmin::setQuota' has an empty part")]
    [InlineData("[roles]\nops = \"thrift.AuroraAdmin:setQuota, snapshot\"\n", 2, "contains whitespace")]
    [InlineData("[roles]\nops = thrift.AuroraAdmin:setQuota,snapshot\n", 2, "permission 'snapshot' can never match")]
    [InlineData("[roles]\nops = thrift.AuroraAdmn:setQuota\n", 2, "permission 'thrift.AuroraAdmn:setQuota' can never match")]
    [InlineData("[roles]\nops = thrift.AuroraAdmin:setQuota, \\\n", 2, "the file ends before another line")]
    [InlineData("[roles]\nops = thrift.AuroraAdmin:setQuota, \\\n[users]\n", 2, "line 3 starts a section instead")]
    public void Malformed_role_lines_are_refused_with_the_line(string text, int line, string message) =>
        AssertRefused(text, line, message);

    [Fact]
    public void Errors_never_quote_a_password()
    {
        var error = Assert.Throws<ShiroIniException>(() => ShiroIni.Parse("sally = topsecret, admin\n", "t.ini"));

        Assert.DoesNotContain("topsecret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_reads_a_file_and_names_it_in_errors()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("security.ini");
        File.WriteAllText(path, Example);
        Assert.Equal("apple", ShiroIni.Load(path).Users["sally"].Password);

        File.WriteAllText(path, "[users]\nsally = apple\n[main]\n");
        var error = Assert.Throws<ShiroIniException>(() => ShiroIni.Load(path));
        Assert.StartsWith($"{path}:3: section [main] is not supported", error.Message, StringComparison.Ordinal);
        Assert.Equal(path, error.FileName);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Load_of_a_missing_file_or_a_directory_says_so()
    {
        using var dir = new TempDirectory();
        var missing = dir.Sub("nope.ini");

        var error = Assert.Throws<ShiroIniException>(() => ShiroIni.Load(missing));
        Assert.Equal($"{missing}: does not exist; it should hold the [users] and [roles] sections (see docs/security.md).", error.Message);
        Assert.Null(error.Line);

        var directory = Assert.Throws<ShiroIniException>(() => ShiroIni.Load(dir.Path));
        Assert.Contains("is a directory", directory.Message, StringComparison.Ordinal);
    }

    private static void AssertRefused(string text, int line, string message)
    {
        var error = Assert.Throws<ShiroIniException>(() => ShiroIni.Parse(text, "shiro.ini"));
        Assert.Equal(line, error.Line);
        Assert.StartsWith($"shiro.ini:{line}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
