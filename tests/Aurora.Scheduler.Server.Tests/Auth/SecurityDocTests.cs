using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Tests.Auth;

/// <summary>The example in docs/security.md parses and means what the page says.</summary>
public class SecurityDocTests
{
    [Fact]
    public void The_documented_ini_example_parses_and_grants_what_it_says()
    {
        var ini = ShiroIni.Parse(DocumentedIni(), "docs/security.md");
        var security = HttpSecurity.Basic(ini);

        Assert.True(security.Check("sally", Permissions.Admin("commitRecovery")).Permitted);
        Assert.True(security.Check("bob", Permissions.SchedulerManager("createJob", "webapp", "prod", "x")).Permitted);
        Assert.False(security.Check("bob", Permissions.SchedulerManager("createJob", "other", "prod", "x")).Permitted);
        Assert.Equal("pa,ss", ini.Users["ann"].Password);
        Assert.True(security.Check("ann", Permissions.Admin("setQuota")).Permitted);
        Assert.True(security.Check("ci", Permissions.SchedulerManager("pulseJobUpdate", "any", "prod", "x")).Permitted);
        Assert.False(security.Check("ci", Permissions.SchedulerManager("pulseJobUpdate", "any", "devel", "x")).Permitted);
        Assert.False(security.Check("ci", Permissions.SchedulerManager("createJob", "any", "prod", "x")).Permitted);
    }

    private static string DocumentedIni()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "docs", "security.md"));
        var start = text.IndexOf("```ini\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/security.md has no ```ini block");
        start += "```ini\n".Length;
        return text[start..text.IndexOf("```", start, StringComparison.Ordinal)];
    }

}
