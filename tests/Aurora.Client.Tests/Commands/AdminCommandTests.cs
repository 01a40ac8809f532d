using Aurora.Admin;
using Aurora.CommandLine;

namespace Aurora.Client.Tests.Commands;

public sealed class AdminCommandTests : FakeSchedulerTests
{
    [Theory]
    [InlineData("512", 512)]
    [InlineData("512MB", 512)]
    [InlineData("2GB", 2048)]
    [InlineData("1.5GB", 1536)]
    [InlineData("1TB", 1048576)]
    [InlineData("0", 0)]
    public void Quota_sizes_take_units_and_bare_numbers_are_megabytes(string text, long megabytes)
    {
        Assert.Equal(megabytes, QuotaVerbs.Megabytes(text, "RAM"));
    }

    [Theory]
    [InlineData("512KB", "RAM must be a whole number of megabytes, got '512KB'")]
    [InlineData("lots", "RAM must be a size such as 512MB, 2GB or a number of megabytes, got 'lots'")]
    [InlineData("2XB", "RAM must be a size")]
    public void Bad_quota_sizes_are_refused(string text, string problem)
    {
        var error = Assert.Throws<UsageException>(() => QuotaVerbs.Megabytes(text, "RAM"));

        Assert.StartsWith(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_quota_puts_cpu_ram_and_disk()
    {
        Scheduler.On("PUT", "/api/quotas/www-data", Canned.Write());

        var result = await Cli.AdminAsync("set_quota", "test", "www-data", "4", "8GB", "16384");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal("""{"numCpus":4,"ramMb":8192,"diskMb":16384}""", Assert.Single(Scheduler.To("PUT", "/api/quotas/www-data")).Body);
        Assert.Contains("set to 4 CPU, 8GB RAM, 16GB disk", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_quota_refuses_bad_amounts_without_asking_the_scheduler()
    {
        var cpu = await Cli.AdminAsync("set_quota", "test", "www-data", "four", "8GB", "16GB");
        var ram = await Cli.AdminAsync("set_quota", "test", "www-data", "4", "8QB", "16GB");
        var missing = await Cli.AdminAsync("set_quota", "test", "www-data", "4", "8GB");

        Assert.Equal([ExitCodes.Usage, ExitCodes.Usage, ExitCodes.Usage], new[] { cpu.Exit, ram.Exit, missing.Exit });
        Assert.Contains("CPU must be a non-negative number", cpu.Stderr, StringComparison.Ordinal);
        Assert.Contains("RAM must be a size", ram.Stderr, StringComparison.Ordinal);
        Assert.Contains("takes 5 argument(s)", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("usage: aurora_admin set_quota CLUSTER ROLE CPU RAM DISK", missing.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.Requests);
    }

    [Fact]
    public async Task Increase_quota_adds_to_the_current_quota()
    {
        Scheduler.On("GET", "/api/quotas/www-data", """{"role": "www-data", "quota": {"numCpus": 1.5, "ramMb": 1024, "diskMb": "2048"}}""")
            .On("PUT", "/api/quotas/www-data", Canned.Write());

        var result = await Cli.AdminAsync("increase_quota", "test", "www-data", "0.5", "1GB", "2GB");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal("""{"numCpus":2,"ramMb":2048,"diskMb":4096}""", Assert.Single(Scheduler.To("PUT", "/api/quotas/www-data")).Body);
    }

    [Fact]
    public async Task Query_filters_by_role_job_shards_and_states_and_needs_force_for_everything()
    {
        Scheduler.On("GET", "/api/tasks", Canned.Tasks(Canned.Task(0, "RUNNING", "agent1")));

        var json = await Cli.AdminAsync("query", "test", "www-data", "hello", "--shards=0-2", "--states=running,PENDING", "--json");
        var byDefault = await Cli.AdminAsync("query", "test", "*", "hello");
        var unforced = await Cli.AdminAsync("query", "test");
        var forced = await Cli.AdminAsync("query", "test", "--force");
        var badState = await Cli.AdminAsync("query", "test", "www-data", "--states=SLEEPING");

        Assert.True(json.Exit == 0, json.ToString());
        var queries = Scheduler.To("GET", "/api/tasks").Select(r => r.Query).ToList();
        Assert.Equal("?role=www-data&name=hello&instances=0%2C1%2C2&statuses=RUNNING%2CPENDING", queries[0]);
        Assert.Equal("?name=hello&statuses=RUNNING", queries[1]);
        Assert.Equal("?statuses=RUNNING", queries[2]);
        Assert.Equal("agent1", json.Json["tasks"]![0]!["host"]!.GetValue<string>());
        Assert.Contains("www-data/prod/hello", byDefault.Stdout, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, unforced.Exit);
        Assert.Contains("--force", unforced.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, forced.Exit);
        Assert.Equal(ExitCodes.Usage, badState.Exit);
        Assert.Contains("unknown task state 'SLEEPING'", badState.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_backups_prints_only_ids_newest_last()
    {
        Scheduler.On("GET", "/api/backups", """
            {"backups": [{"id": "b-42.bak", "position": 42}, {"id": "b-7.bak", "position": 7}, {"id": "b-100.bak", "position": 100}]}
            """);

        var result = await Cli.AdminAsync("scheduler_list_backups", "test");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal("b-7.bak\nb-42.bak\nb-100.bak\n", result.Stdout);
    }

    [Fact]
    public async Task Backup_now_prints_the_new_backup_id()
    {
        Scheduler.On("POST", "/api/backups", """{"id": "b-43.bak", "position": 43, "sizeBytes": 1234}""");

        var result = await Cli.AdminAsync("scheduler_backup_now", "test");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal("b-43.bak\n", result.Stdout);
        Assert.Contains("position 43, 1234 bytes", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recovery_verbs_call_their_endpoints()
    {
        Scheduler.On("POST", "/api/recovery/stage", Canned.Write("staged"))
            .On("GET", "/api/recovery/tasks", Canned.Tasks(Canned.Task(0, "RUNNING", "agent1")))
            .On("POST", "/api/recovery/tasks/delete", """{"deleted": 3}""")
            .On("POST", "/api/recovery/commit", Canned.Write())
            .On("POST", "/api/recovery/unload", Canned.Write())
            .On("POST", "/api/snapshot", Canned.Write());

        var stage = await Cli.AdminAsync("scheduler_stage_recovery", "test", "b-42.bak");
        var print = await Cli.AdminAsync("scheduler_print_recovery_tasks", "test");
        var delete = await Cli.AdminAsync("scheduler_delete_recovery_tasks", "test", "--jobs=www-data/prod/hello,www-data/prod/web", "--states=PENDING", "--task_ids=t1,t2");
        var commit = await Cli.AdminAsync("scheduler_commit_recovery", "test");
        var unload = await Cli.AdminAsync("scheduler_unload_recovery", "test");
        var snapshot = await Cli.AdminAsync("scheduler_snapshot", "test");

        Assert.All(new[] { stage, print, delete, commit, unload, snapshot }, r => Assert.True(r.Exit == 0, r.ToString()));
        Assert.Equal("""{"backupId":"b-42.bak"}""", Scheduler.To("POST", "/api/recovery/stage")[0].Body);
        Assert.StartsWith("?statuses=", Scheduler.To("GET", "/api/recovery/tasks")[0].Query, StringComparison.Ordinal);
        Assert.Contains("RUNNING", Scheduler.To("GET", "/api/recovery/tasks")[0].Query, StringComparison.Ordinal);
        Assert.Contains("agent1", print.Stdout, StringComparison.Ordinal);
        Assert.Equal(
            """{"jobs":["www-data/prod/hello","www-data/prod/web"],"taskIds":["t1","t2"],"statuses":["PENDING"]}""",
            Scheduler.To("POST", "/api/recovery/tasks/delete")[0].Body);
        Assert.Contains("Deleted 3 task(s)", delete.Stdout, StringComparison.Ordinal);
        Assert.Single(Scheduler.To("POST", "/api/recovery/commit"));
        Assert.Single(Scheduler.To("POST", "/api/recovery/unload"));
        Assert.Single(Scheduler.To("POST", "/api/snapshot"));
    }

    [Fact]
    public async Task Delete_recovery_tasks_refuses_a_bad_job_key()
    {
        var result = await Cli.AdminAsync("scheduler_delete_recovery_tasks", "test", "--jobs=www-data/hello");

        Assert.Equal(ExitCodes.Usage, result.Exit);
        Assert.Contains("--jobs: bad job key 'www-data/hello': expected role/env/name", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.Requests);
    }

    [Fact]
    public async Task Host_verbs_take_hosts_from_a_list_or_a_file()
    {
        Scheduler.On("POST", "/api/maintenance/drain", Canned.Write())
            .On("POST", "/api/maintenance/deactivate", Canned.Write())
            .On("POST", "/api/maintenance/activate", Canned.Write())
            .On("GET", "/api/maintenance", """{"hosts": [{"host": "agent2", "mode": "DRAINING"}, {"host": "agent1", "mode": "MAINTENANCE_MODE_DRAINED"}]}""");
        var file = Cli.WriteFile("hosts.txt", "# rack 1\nagent1\n\n  agent2  \n");

        var drain = await Cli.AdminAsync("host_drain", "test", "--hosts=agent1,agent2");
        var deactivate = await Cli.AdminAsync("host_deactivate", "test", "--filename", file);
        var activate = await Cli.AdminAsync("host_activate", "test", "--hosts=agent1");
        var status = await Cli.AdminAsync("host_status", "test", "--hosts=agent1,agent2");
        var all = await Cli.AdminAsync("host_status", "test", "--json");

        Assert.All(new[] { drain, deactivate, activate, status, all }, r => Assert.True(r.Exit == 0, r.ToString()));
        Assert.Equal("""{"hosts":["agent1","agent2"]}""", Scheduler.To("POST", "/api/maintenance/drain")[0].Body);
        Assert.Equal("""{"hosts":["agent1","agent2"]}""", Scheduler.To("POST", "/api/maintenance/deactivate")[0].Body);
        Assert.Equal("""{"hosts":["agent1"]}""", Scheduler.To("POST", "/api/maintenance/activate")[0].Body);
        Assert.Equal("?hosts=agent1%2Cagent2", Scheduler.To("GET", "/api/maintenance")[0].Query);
        Assert.Equal(string.Empty, Scheduler.To("GET", "/api/maintenance")[1].Query);
        Assert.Contains("DRAINED", status.Stdout, StringComparison.Ordinal);
        Assert.True(status.Stdout.IndexOf("agent1", StringComparison.Ordinal) < status.Stdout.IndexOf("agent2", StringComparison.Ordinal));
        Assert.Equal(2, all.Json["hosts"]!.AsArray().Count);
    }

    [Fact]
    public async Task Host_verbs_need_hosts_one_way_only()
    {
        var none = await Cli.AdminAsync("host_drain", "test");
        var both = await Cli.AdminAsync("host_drain", "test", "--hosts=a", "--filename=f");
        var empty = await Cli.AdminAsync("host_drain", "test", "--hosts=,");

        Assert.All(new[] { none, both, empty }, r => Assert.Equal(ExitCodes.Usage, r.Exit));
        Assert.Contains("give the hosts with --hosts=HOST[,HOST...] or --filename=FILE", none.Stderr, StringComparison.Ordinal);
        Assert.Contains("not both", both.Stderr, StringComparison.Ordinal);
        Assert.Contains("no hosts found in --hosts", empty.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_scheduler_shows_the_leader()
    {
        Scheduler.On("GET", "/api/scheduler", """
            {"cluster": "test", "leader": "http://sched1:8081", "leading": true,
             "replica": {"status": "LEADING", "appendedPosition": 12, "committedPosition": 12, "appliedPosition": 11, "term": 3, "quorumSize": 2}}
            """);

        var text = await Cli.AdminAsync("get_scheduler", "test");
        var json = await Cli.AdminAsync("get_scheduler", "test", "--json");

        Assert.Contains("Leading scheduler:", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("http://sched1:8081", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Applied position:", text.Stdout, StringComparison.Ordinal);
        Assert.True(json.Json["leading"]!.GetValue<bool>());
    }
}
