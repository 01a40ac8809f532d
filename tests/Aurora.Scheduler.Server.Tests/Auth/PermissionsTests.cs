using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Tests.Auth;

public class PermissionsTests
{
    [Fact]
    public void Builders_give_Auroras_shapes()
    {
        Assert.Equal("thrift.AuroraSchedulerManager:createJob:www-data:prod:hello", Permissions.SchedulerManager("createJob", "www-data", "prod", "hello"));
        Assert.Equal("thrift.AuroraAdmin:setQuota", Permissions.Admin("setQuota"));
    }

    [Fact]
    public void Every_built_permission_parses()
    {
        foreach (var rpc in Permissions.SchedulerManagerRpcs)
        {
            Assert.Equal(5, WildcardPermission.Parse(Permissions.SchedulerManager(rpc, "r", "e", "n")).Parts.Count);
        }

        foreach (var rpc in Permissions.AdminRpcs)
        {
            Assert.Equal(2, WildcardPermission.Parse(Permissions.Admin(rpc)).Parts.Count);
        }
    }

    [Theory]
    [InlineData("createjob")]
    [InlineData("setQuota")]
    [InlineData("getJobs")]
    public void Unknown_scheduler_manager_rpcs_are_refused(string rpc)
    {
        var error = Assert.Throws<ArgumentException>(() => Permissions.SchedulerManager(rpc, "r", "e", "n"));
        Assert.Contains($"'{rpc}' is not an RPC of thrift.AuroraSchedulerManager", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_admin_rpcs_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => Permissions.Admin("createJob"));
        Assert.Contains("'createJob' is not an RPC of thrift.AuroraAdmin", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "prod", "x")]
    [InlineData("web:app", "prod", "x")]
    [InlineData("webapp", "prod,devel", "x")]
    [InlineData("webapp", "prod", "*")]
    [InlineData("webapp", "prod", "a b")]
    public void Key_components_that_would_change_the_shape_are_refused(string role, string environment, string name) =>
        Assert.Throws<ArgumentException>(() => Permissions.SchedulerManager("createJob", role, environment, name));
}
