using Aurora.Agent.Protocol;
using Aurora.CommandLine;

namespace Aurora.Scheduler.Server.Tests;

public sealed class FlagsTests
{
    private static readonly string[] Required = ["-cluster_name=east", "-native_log_file_path=/var/lib/aurora/db", "-backup_dir=/var/lib/aurora/backups"];

    private static ServerOptions Options(params string[] extra) => ServerOptions.FromFlags(SchedulerFlags.Parse([.. Required, .. extra]));

    private static string Refused(params string[] args) =>
        Assert.Throws<UsageException>(() => ServerOptions.FromFlags(SchedulerFlags.Parse(args))).Message;

    [Fact]
    public void Defaults_are_Auroras()
    {
        var options = Options();
        Assert.Equal(8081, options.HttpPort);
        Assert.Equal(TimeSpan.FromHours(1), options.SnapshotInterval);
        Assert.Equal(TimeSpan.FromHours(1), options.BackupInterval);
        Assert.Equal(48, options.MaxSavedBackups);
        Assert.Equal(512 << 10, options.MaxEntrySize);
        Assert.Equal(TimeSpan.FromDays(2), options.Settings.HistoryPruneThreshold);
        Assert.Equal(TimeSpan.FromMinutes(15), options.JobUpdateHistoryPruningInterval);
        Assert.Null(options.DevDirectory);
        Assert.Equal("1hrs", options.Flags["backup_interval"]);
    }

    [Fact]
    public void Every_spelling_of_a_flag_is_accepted()
    {
        Assert.Equal(9000, Options("-http_port=9000").HttpPort);
        Assert.Equal(9001, Options("--http_port=9001").HttpPort);
        Assert.Equal(9002, Options("--http_port", "9002").HttpPort);
        Assert.Equal(TimeSpan.FromMinutes(30), Options("-dlog_snapshot_interval=30mins").SnapshotInterval);
        Assert.Equal(1 << 20, Options("-dlog_max_entry_size=1MB").MaxEntrySize);
    }

    [Fact]
    public void Dev_fills_in_the_cluster_and_directories()
    {
        var options = ServerOptions.FromFlags(SchedulerFlags.Parse(["-dev", "-dev_dir=/tmp/aurora-dev-flags"]));
        Assert.Equal("devcluster", options.ClusterName);
        Assert.Equal("/tmp/aurora-dev-flags/log", options.LogDirectory);
        Assert.Equal("/tmp/aurora-dev-flags/backups", options.BackupDirectory);
        Assert.Equal("127.0.0.1", options.BindAddress!.ToString());
        Assert.Equal("/tmp/aurora-dev-flags/agent", options.DevAgentDirectory);
        Assert.Null(ServerOptions.FromFlags(SchedulerFlags.Parse(["-dev", "-dev_agent=false"])).DevAgentDirectory);
        Assert.Null(Options().DevAgentDirectory);
    }

    [Fact]
    public void Thermos_executor_flags_set_the_logger_defaults_they_name_and_leave_the_rest_to_agents()
    {
        Assert.Null(Options().ThermosLoggerDefaults);
        Assert.Equal(
            new LoggerSpec("rotate", 100, 10),
            Options("-thermos_executor_flags=--runner-logger-mode=rotate --runner-rotate-log-size-mb=100 --runner-rotate-log-backups=10").ThermosLoggerDefaults);
        Assert.Equal(new LoggerSpec(string.Empty, 0, 5), Options("-thermos_executor_flags=--runner-rotate-log-backups=5").ThermosLoggerDefaults);
    }

    [Theory]
    [InlineData("-no_such_flag=1", "unknown flag -no_such_flag")]
    [InlineData("-http_port=eighty", "-http_port=eighty")]
    [InlineData("-http_port=70000", "-http_port=70000")]
    [InlineData("-backup_interval=soon", "-backup_interval=soon is not a positive duration")]
    [InlineData("-dlog_max_entry_size=12QB", "-dlog_max_entry_size=12QB")]
    [InlineData("-max_saved_backups=0", "-max_saved_backups=0")]
    [InlineData("-native_log_quorum_size=2", "not a majority")]
    [InlineData("-global_container_mounts=/a", "'/a' is not host:container[:ro|rw]")]
    [InlineData("-global_container_mounts=/a:/b:rx", "mode must be ro or rw")]
    [InlineData("-global_container_mounts=a:/b", "absolute")]
    [InlineData("-allowed_job_environments=(", "not a regular expression")]
    [InlineData("-thermos_executor_flags=--runner-logger-mode=syslog", "--runner-logger-mode=syslog must be standard or rotate")]
    [InlineData("-thermos_executor_flags=--runner-rotate-log-size-mb=0", "--runner-rotate-log-size-mb=0 must be a positive whole number of MB")]
    [InlineData("-thermos_executor_flags=--checkpoint-root=/x", "--checkpoint-root is not understood")]
    [InlineData("-dev_agent=maybe", "-dev_agent")]
    [InlineData("-log_backend=postgres", "not in this build")]
    [InlineData("-zk_endpoints=127.0.0.1:2181", "ZooKeeper")]
    [InlineData("-tier_config=/nonexistent/tiers.json", "/nonexistent/tiers.json")]
    [InlineData("-ip=not-an-ip", "-ip=not-an-ip")]
    [InlineData("-cron_timezone=Mars/Olympus", "-cron_timezone=Mars/Olympus is not a known time zone")]
    public void Bad_flags_are_named_in_one_line(string flag, string expected)
    {
        var message = Refused([.. Required, flag]);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Required_flags_are_required_outside_dev()
    {
        Assert.Contains("-cluster_name", Refused("-native_log_file_path=/x", "-backup_dir=/y"), StringComparison.Ordinal);
        Assert.Contains("-native_log_file_path", Refused("-cluster_name=c", "-backup_dir=/y"), StringComparison.Ordinal);
        Assert.Contains("-backup_dir", Refused("-cluster_name=c", "-native_log_file_path=/x"), StringComparison.Ordinal);
    }

    [Fact]
    public void Global_container_mounts_are_parsed()
    {
        var mounts = Options("-global_container_mounts=/etc/ssl:/etc/ssl:ro,/data:/mnt/data").GlobalContainerMounts;
        Assert.Equal([new ContainerMount("/etc/ssl", "/etc/ssl", true), new ContainerMount("/data", "/mnt/data", false)], mounts);
    }

    [Fact]
    public void Help_lists_every_flag_with_its_default()
    {
        var usage = SchedulerFlags.Usage();
        foreach (var flag in SchedulerFlags.All)
        {
            Assert.Contains($"-{flag.Name}", usage, StringComparison.Ordinal);
        }

        Assert.Contains("(default: 8081)", usage, StringComparison.Ordinal);
    }
}
