namespace Aurora.Client.Tests.EndToEnd;

/// <summary>`aurora_admin` from dist/bin against a real `aurora-scheduler -dev`, including Aurora's backup and recovery workflow.</summary>
public sealed class AdminCliTests(DevCluster cluster) : IClassFixture<DevCluster>
{
    private static string Job(string name, int instances) => """
        {"jobs": [{"cluster": "devcluster", "role": "www-data", "environment": "prod", "name": "@NAME", "instances": @INSTANCES, "service": true,
          "task": {"processes": [{"name": "main", "cmdline": "sleep 60"}], "resources": {"cpu": 0.1, "ram": "32MB", "disk": "32MB"}}}]}
        """.Replace("@NAME", name, StringComparison.Ordinal).Replace("@INSTANCES", instances.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    [Fact]
    public async Task Set_and_increase_quota_with_units()
    {
        Assert.Equal(0, (await cluster.AdminAsync("set_quota", "devcluster", "team-a", "2.5", "2GB", "10GB")).ExitCode);
        Assert.Equal(0, (await cluster.AdminAsync("increase_quota", "devcluster", "team-a", "1", "512MB", "0")).ExitCode);
        var quota = await cluster.AuroraAsync("quota", "get", "devcluster/team-a", "--json");
        Assert.Equal(3.5, quota.Json["quota"]!["numCpus"]!.GetValue<double>());
        Assert.Equal(2560, quota.Json["quota"]!["ramMb"]!.GetValue<long>());
        Assert.Equal(10240, quota.Json["quota"]!["diskMb"]!.GetValue<long>());

        var bad = await cluster.AdminAsync("set_quota", "devcluster", "team-a", "1", "2QB", "1GB");
        Assert.True(bad.ExitCode == 2, bad.ToString());
        Assert.Contains("2QB", bad.Err, StringComparison.Ordinal);
        Assert.Equal(2, (await cluster.AdminAsync("set_quota", "devcluster", "team-a", "1")).ExitCode);
    }

    [Fact]
    public async Task Backup_list_stage_print_delete_commit_and_unload()
    {
        Assert.Equal(0, (await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/recovered", cluster.JobFile("recovered.json", Job("recovered", 3)))).ExitCode);
        var backedUp = await cluster.AdminAsync("scheduler_backup_now", "devcluster");
        Assert.True(backedUp.ExitCode == 0, backedUp.ToString());
        Assert.Equal(0, (await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/after", cluster.JobFile("after.json", Job("after", 1)))).ExitCode);

        var listed = await cluster.AdminAsync("scheduler_list_backups", "devcluster");
        Assert.Equal(0, listed.ExitCode);
        var ids = listed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(ids, id => Assert.StartsWith("scheduler-backup-", id, StringComparison.Ordinal));
        var newest = ids[^1];

        Assert.Equal(6, (await cluster.AdminAsync("scheduler_stage_recovery", "devcluster", "scheduler-backup-2000-01-01-00-00-00-00000000000000000001.bak")).ExitCode);
        var staged = await cluster.AdminAsync("scheduler_stage_recovery", "devcluster", newest);
        Assert.True(staged.ExitCode == 0, staged.ToString());

        var printed = await cluster.AdminAsync("scheduler_print_recovery_tasks", "devcluster");
        Assert.True(printed.ExitCode == 0, printed.ToString());
        Assert.Contains("recovered", printed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("www-data/prod/after", printed.Out, StringComparison.Ordinal);

        var deleted = await cluster.AdminAsync("scheduler_delete_recovery_tasks", "devcluster", "--jobs=www-data/prod/recovered", "--states=PENDING");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());

        var committed = await cluster.AdminAsync("scheduler_commit_recovery", "devcluster");
        Assert.True(committed.ExitCode == 0, committed.ToString());
        var after = await cluster.AuroraAsync("job", "list", "devcluster/www-data", "--json");
        Assert.DoesNotContain("\"after\"", after.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("\"recovered\"", after.Out, StringComparison.Ordinal);

        Assert.Equal(0, (await cluster.AdminAsync("scheduler_stage_recovery", "devcluster", newest)).ExitCode);
        Assert.Equal(0, (await cluster.AdminAsync("scheduler_unload_recovery", "devcluster")).ExitCode);
        Assert.NotEqual(0, (await cluster.AdminAsync("scheduler_commit_recovery", "devcluster")).ExitCode);
        Assert.Equal(0, (await cluster.AdminAsync("scheduler_snapshot", "devcluster")).ExitCode);
    }

    [Fact]
    public async Task Hosts_are_deactivated_drained_reported_and_activated()
    {
        Assert.Equal(0, (await cluster.AdminAsync("host_deactivate", "devcluster", "--hosts=h1.example,h2.example")).ExitCode);
        var hostsFile = Path.Combine(cluster.Root, "hosts.txt");
        await File.WriteAllTextAsync(hostsFile, "h1.example\n");
        Assert.Equal(0, (await cluster.AdminAsync("host_drain", "devcluster", $"--filename={hostsFile}")).ExitCode);
        var status = await cluster.AdminAsync("host_status", "devcluster", "--hosts=h1.example,h2.example");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("DRAINED", status.Out, StringComparison.Ordinal);
        Assert.Contains("SCHEDULED", status.Out, StringComparison.Ordinal);
        Assert.Equal(0, (await cluster.AdminAsync("host_activate", "devcluster", "--hosts=h1.example,h2.example")).ExitCode);
        Assert.DoesNotContain("DRAIN", (await cluster.AdminAsync("host_status", "devcluster", "--hosts=h1.example")).Out, StringComparison.Ordinal);
        Assert.Equal(2, (await cluster.AdminAsync("host_drain", "devcluster")).ExitCode);
    }

    [Fact]
    public async Task Query_and_get_scheduler()
    {
        Assert.Equal(0, (await cluster.AuroraAsync("job", "create", "devcluster/www-data/prod/queried", cluster.JobFile("queried.json", Job("queried", 2)))).ExitCode);
        var query = await cluster.AdminAsync("query", "devcluster", "www-data", "queried", "--states=PENDING", "--json");
        Assert.True(query.ExitCode == 0, query.ToString());
        Assert.Equal(2, query.Json["tasks"]!.AsArray().Count);

        var scheduler = await cluster.AdminAsync("get_scheduler", "devcluster");
        Assert.True(scheduler.ExitCode == 0, scheduler.ToString());
        Assert.Contains(cluster.SchedulerUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), scheduler.Out, StringComparison.Ordinal);
    }
}

/// <summary>A dev cluster with BASIC authentication from a real shiro.ini; the clients read ~/.netrc.</summary>
public sealed class SecuredDevCluster : DevCluster
{
    protected override string AuthMechanism => "BASIC";

    protected override IEnumerable<string> ExtraFlags
    {
        get
        {
            var ini = Path.Combine(Root, "security.ini");
            File.WriteAllText(ini, "[users]\nroot = rootpw, admin\nwebdev = webpw, webapp\n\n[roles]\nadmin = *\nwebapp = thrift.AuroraSchedulerManager:*:webapp\n");
            return ["-http_authentication_mechanism=BASIC", $"-shiro_ini_path={ini}"];
        }
    }
}

public sealed class AuthCliTests(SecuredDevCluster cluster) : IClassFixture<SecuredDevCluster>
{
    [Fact]
    public async Task Credentials_come_from_netrc_and_refusals_are_permission_violations()
    {
        var netrc = Path.Combine(cluster.Home, ".netrc");
        File.Delete(netrc);
        var anonymous = await cluster.AdminAsync("set_quota", "devcluster", "webapp", "1", "1GB", "1GB");
        Assert.True(anonymous.ExitCode == 8, anonymous.ToString());

        await File.WriteAllTextAsync(netrc, "machine 127.0.0.1 login webdev password webpw\n");
        var denied = await cluster.AdminAsync("set_quota", "devcluster", "webapp", "1", "1GB", "1GB");
        Assert.True(denied.ExitCode == 8, denied.ToString());
        Assert.Contains("thrift.AuroraAdmin:setQuota", denied.Err, StringComparison.Ordinal);

        await File.WriteAllTextAsync(netrc, "machine 127.0.0.1 login root password rootpw\n");
        var allowed = await cluster.AdminAsync("set_quota", "devcluster", "webapp", "1", "1GB", "1GB");
        Assert.True(allowed.ExitCode == 0, allowed.ToString());

        await File.WriteAllTextAsync(netrc, "machine 127.0.0.1 login root password wrong\n");
        Assert.Equal(8, (await cluster.AdminAsync("scheduler_list_backups", "devcluster")).ExitCode);

        // Reads stay open.
        Assert.Equal(0, (await cluster.AuroraAsync("job", "list", "devcluster/webapp")).ExitCode);
    }
}
