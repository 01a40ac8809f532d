using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Tests.Auth;

public class WildcardPermissionTests
{
    [Theory]
    // Equal permissions, and Shiro's default case-insensitivity.
    [InlineData("thrift.AuroraAdmin:setQuota", "thrift.AuroraAdmin:setQuota", true)]
    [InlineData("thrift.AuroraAdmin:setQuota", "THRIFT.auroraadmin:SETQUOTA", true)]
    [InlineData("thrift.auroraadmin:setquota", "thrift.AuroraAdmin:setQuota", true)]
    [InlineData("thrift.AuroraAdmin:setQuota", "thrift.AuroraAdmin:snapshot", false)]
    // Fewer parts imply everything below; more parts imply less only through '*'.
    [InlineData("thrift.AuroraAdmin", "thrift.AuroraAdmin:setQuota", true)]
    [InlineData("thrift.AuroraSchedulerManager:*:webapp", "thrift.AuroraSchedulerManager:createJob:webapp:prod:x", true)]
    [InlineData("thrift.AuroraAdmin:setQuota", "thrift.AuroraAdmin", false)]
    [InlineData("thrift.AuroraAdmin:*", "thrift.AuroraAdmin", true)]
    [InlineData("thrift.AuroraAdmin:*:*", "thrift.AuroraAdmin", true)]
    [InlineData("thrift.AuroraAdmin:*:x", "thrift.AuroraAdmin", false)]
    // Wildcards.
    [InlineData("*", "thrift.AuroraAdmin:setQuota", true)]
    [InlineData("*", "anything", true)]
    [InlineData("*:setQuota", "thrift.AuroraAdmin:setQuota", true)]
    [InlineData("*:setQuota", "thrift.AuroraAdmin:snapshot", false)]
    [InlineData("thrift.AuroraSchedulerManager:*:webapp", "thrift.AuroraSchedulerManager:createJob:other:prod:x", false)]
    [InlineData("thrift.AuroraSchedulerManager:*:*:prod", "thrift.AuroraSchedulerManager:killTasks:any:prod:x", true)]
    [InlineData("thrift.AuroraSchedulerManager:*:*:prod", "thrift.AuroraSchedulerManager:killTasks:any:devel:x", false)]
    // A '*' that is wanted is only a name: a narrower holder does not grant it.
    [InlineData("thrift.AuroraAdmin:setQuota", "thrift.AuroraAdmin:*", false)]
    [InlineData("thrift.AuroraAdmin:*", "thrift.AuroraAdmin:*", true)]
    // Sub-parts: the holder must contain every wanted sub-part, or '*'.
    [InlineData("thrift.AuroraAdmin:setQuota,snapshot", "thrift.AuroraAdmin:snapshot", true)]
    [InlineData("thrift.AuroraAdmin:setQuota,snapshot", "thrift.AuroraAdmin:setQuota,snapshot", true)]
    [InlineData("thrift.AuroraAdmin:snapshot,setQuota", "thrift.AuroraAdmin:setQuota,snapshot", true)]
    [InlineData("thrift.AuroraAdmin:setQuota", "thrift.AuroraAdmin:setQuota,snapshot", false)]
    [InlineData("thrift.AuroraAdmin:setQuota,*", "thrift.AuroraAdmin:drainHosts", true)]
    [InlineData("thrift.AuroraSchedulerManager:createJob,killTasks:webapp,ads", "thrift.AuroraSchedulerManager:killTasks:ads:prod:x", true)]
    [InlineData("thrift.AuroraSchedulerManager:createJob,killTasks:webapp,ads", "thrift.AuroraSchedulerManager:restartShards:ads:prod:x", false)]
    [InlineData("thrift.AuroraAdmin,thrift.AuroraSchedulerManager", "thrift.AuroraSchedulerManager:createJob:a:b:c", true)]
    public void Implies_follows_Shiro(string held, string wanted, bool implied) =>
        Assert.Equal(implied, WildcardPermission.Parse(held).Implies(WildcardPermission.Parse(wanted)));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("a::b", "empty part (part 2)")]
    [InlineData(":a", "empty part (part 1)")]
    [InlineData("a:", "empty part (part 2)")]
    [InlineData("a:b,,c", "empty sub-part in part 2")]
    [InlineData("a:b,", "empty sub-part in part 2")]
    [InlineData("a:b, c", "whitespace")]
    [InlineData("a b", "whitespace")]
    public void Malformed_permissions_are_refused_with_the_reason(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => WildcardPermission.Parse(text));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_keeps_the_spelling_and_parts_are_lower_cased_sets()
    {
        var permission = WildcardPermission.Parse("  thrift.AuroraAdmin:setQuota,Snapshot,setQuota  ");

        Assert.Equal("thrift.AuroraAdmin:setQuota,Snapshot,setQuota", permission.Text);
        Assert.Equal("thrift.AuroraAdmin:setQuota,Snapshot,setQuota", permission.ToString());
        Assert.Equal(2, permission.Parts.Count);
        Assert.Equal(["thrift.auroraadmin"], permission.Parts[0]);
        Assert.Equal(["setquota", "snapshot"], permission.Parts[1]);
    }

    [Fact]
    public void Equal_permissions_ignore_case_and_sub_part_order()
    {
        var a = WildcardPermission.Parse("thrift.AuroraAdmin:setQuota,snapshot");
        var b = WildcardPermission.Parse("THRIFT.AURORAADMIN:SNAPSHOT,SETQUOTA");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, WildcardPermission.Parse("thrift.AuroraAdmin:setQuota"));
        Assert.NotEqual(a, WildcardPermission.Parse("thrift.AuroraAdmin:setQuota,snapshot:x"));
    }

    [Fact]
    public void TryParse_reports_the_error_without_throwing()
    {
        Assert.False(WildcardPermission.TryParse("a::b", out var permission, out var error));
        Assert.Null(permission);
        Assert.Contains("empty part", error, StringComparison.Ordinal);
    }
}
